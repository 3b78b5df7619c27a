import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { acceptTraceparent, newId, newTraceparent } from '../../src/ids.ts';

const W3C_TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-01$/;

const ids = suite('ids and trace context');

ids('a new traceparent is a valid W3C header, different every time', () => {
  const made = Array.from({ length: 1000 }, newTraceparent);
  for (const traceparent of made) assert.match(traceparent, W3C_TRACEPARENT);
  assert.is(new Set(made.map((t) => t.slice(3, 35))).size, 1000, 'trace ids repeat');
  assert.is(new Set(made.map((t) => t.slice(36, 52))).size, 1000, 'span ids repeat');
});

ids('a valid incoming traceparent is kept; a missing or malformed one is replaced by a new one', () => {
  const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  assert.is(acceptTraceparent(incoming), incoming);
  for (const bad of [undefined, '', 'garbage', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']) {
    assert.match(acceptTraceparent(bad), W3C_TRACEPARENT);
  }
});

ids('ids are UUIDv7 and sort by the time they were made', () => {
  const earlier = newId(Date.parse('2026-01-01T00:00:00Z'));
  const later = newId(Date.parse('2026-01-01T00:00:00.001Z'));
  assert.match(earlier, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(earlier < later);
});

ids.run();
