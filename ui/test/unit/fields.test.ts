import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCount } from '../../src/lib/fields.ts';

const counting = suite('parseCount: how many orders in a burst');

counting('a whole number within the bounds', () => {
  assert.equal(parseCount('20', 1, 50), { ok: true, value: 20 });
  assert.equal(parseCount(' 1 ', 1, 50), { ok: true, value: 1 });
  assert.equal(parseCount('50', 1, 50), { ok: true, value: 50 });
});

counting('anything else is refused in words', () => {
  for (const bad of ['', '0', '51', '2.5', '-3', 'ten', '1e1']) {
    const result = parseCount(bad, 1, 50, 'The number of orders');
    assert.is(result.ok, false, bad);
    if (!result.ok) assert.match(result.message, /^The number of orders/);
  }
});

counting.run();
