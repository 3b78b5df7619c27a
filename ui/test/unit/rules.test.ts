import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDescription, parseUserId } from '../../src/lib/rules.ts';

const users = suite('parseUserId: the server’s rule for user ids');

users('accepts letters, digits and _ . @ - after a letter or digit, up to 64', () => {
  for (const ok of ['alice', 'a', '0', 'Bob_1', 'a.b@example.com', 'x-y', 'a'.repeat(64)]) {
    assert.equal(parseUserId(ok), { ok: true, value: ok }, ok);
  }
  assert.equal(parseUserId('  alice  '), { ok: true, value: 'alice' }, 'trimmed');
});

users('refuses everything else with words', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /Enter a user name/],
    ['a'.repeat(65), /at most 64/],
    ['_alice', /starts with a Latin letter or a digit/],
    ['.x', /starts with/],
    ['алиса', /starts with/],
    ['al ice', /no spaces/],
    ['a/b', /only/],
    ['a%20b', /only/],
    ['bob!', /only/],
  ];
  for (const [text, message] of cases) {
    const result = parseUserId(text);
    assert.is(result.ok, false, text);
    if (!result.ok) assert.match(result.message, message, text);
  }
});

users.run();

const descriptions = suite('parseDescription: 1–500 characters, one line');

descriptions('trims, counts characters not UTF-16 units, keeps any script', () => {
  assert.equal(parseDescription('  a book  '), { ok: true, value: 'a book' });
  assert.equal(parseDescription('книга'), { ok: true, value: 'книга' });
  assert.is(parseDescription('😀'.repeat(500)).ok, true, '500 emoji are 500 characters');
  assert.is(parseDescription('x'.repeat(500)).ok, true);
});

descriptions('refuses empty, too long and control characters', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /Describe the order/],
    ['   ', /Describe the order/],
    ['x'.repeat(501), /501 characters; at most 500/],
    ['a\u0000b', /control characters/],
    ['line\nbreak', /control characters/],
    ['tab\there', /control characters/],
    ['del\u007f', /control characters/],
    ['c1\u0085', /control characters/],
  ];
  for (const [text, message] of cases) {
    const result = parseDescription(text);
    assert.is(result.ok, false, JSON.stringify(text));
    if (!result.ok) assert.match(result.message, message, JSON.stringify(text));
  }
});

descriptions.run();
