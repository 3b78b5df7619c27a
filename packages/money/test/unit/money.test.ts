import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AmountError, toDecimalText, parseRubles, toRublesNumber } from '@gozon/money';

const parse = suite('parseRubles');

for (const [text, kopecks] of [
  ['149.90', 14990n],
  ['149.9', 14990n],
  ['0.01', 1n],
  ['1', 100n],
  ['1000000000000', 100000000000000n],
  ['999999999999.99', 99999999999999n],
] as const) {
  parse(`reads ${text} as ${kopecks} kopecks`, () => {
    assert.is(parseRubles(text), kopecks);
  });
}

for (const [text, why] of [
  ['0', /positive/],
  ['0.00', /positive/],
  ['-5', /positive/],
  ['1.005', /two decimals/],
  ['1e2', /exponent/],
  ['1E-2', /exponent/],
  ['NaN', /decimal/],
  ['Infinity', /decimal/],
  ['', /decimal/],
  ['12abc', /decimal/],
  ['1000000000000.01', /at most/],
] as const) {
  parse(`refuses ${JSON.stringify(text)}`, () => {
    assert.throws(
      () => parseRubles(text),
      (error: Error) => error instanceof AmountError && why.test(error.message),
    );
  });
}

parse.run();

const format = suite('toDecimalText');

format('always two decimals', () => {
  assert.is(toDecimalText(14990n), '149.90');
  assert.is(toDecimalText(1n), '0.01');
  assert.is(toDecimalText(0n), '0.00');
  assert.is(toDecimalText(-250n), '-2.50');
});

format('a JSON number that prints back as the same decimal', () => {
  assert.is(JSON.stringify({ amount: toRublesNumber(14990n) }), '{"amount":149.9}');
  assert.is(toRublesNumber(99999999999999n), 999999999999.99);
  assert.is(toRublesNumber(1n), 0.01);
});

format.run();
