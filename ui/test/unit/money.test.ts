import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fromRublesNumber, MAX_KOPECKS, toDecimalText, toRublesNumber } from '@gozon/money';
import { formatRubles, parseAmount } from '../../src/lib/money.ts';

const NBSP = '\u00a0';

const parsing = suite('parseAmount: the text a person types → kopecks');

parsing('reads whole rubles, one decimal and two decimals exactly', () => {
  assert.equal(parseAmount('149.90'), { ok: true, value: 14990n });
  assert.equal(parseAmount('149.9'), { ok: true, value: 14990n });
  assert.equal(parseAmount('1500'), { ok: true, value: 150000n });
  assert.equal(parseAmount('0.01'), { ok: true, value: 1n });
  assert.equal(parseAmount('0.10'), { ok: true, value: 10n });
  assert.equal(parseAmount('007.5'), { ok: true, value: 750n });
  assert.equal(parseAmount('  500.50 '), { ok: true, value: 50050n }, 'spaces around are trimmed');
});

parsing('never goes through a float: 0.1 + 0.2 style values stay exact', () => {
  assert.equal(parseAmount('0.29'), { ok: true, value: 29n });
  assert.equal(parseAmount('1.15'), { ok: true, value: 115n });
  assert.equal(parseAmount('4.35'), { ok: true, value: 435n });
  assert.equal(parseAmount('999999999999.99'), { ok: true, value: 99999999999999n });
});

parsing('accepts the limit, 1 000 000 000 000 rubles, and refuses a kopeck more', () => {
  assert.equal(parseAmount('1000000000000'), { ok: true, value: MAX_KOPECKS });
  assert.equal(parseAmount('1000000000000.00'), { ok: true, value: MAX_KOPECKS });
  const over = parseAmount('1000000000000.01');
  assert.is(over.ok, false);
  if (!over.ok) assert.match(over.message, /at most 1\u00a0000\u00a0000\u00a0000\u00a0000\.00\u00a0₽/);
  assert.is(parseAmount('99999999999999999999').ok, false);
});

function refused(text: string, message: RegExp) {
  const result = parseAmount(text);
  assert.is(result.ok, false, `${JSON.stringify(text)} must be refused`);
  if (!result.ok) assert.match(result.message, message, `message for ${JSON.stringify(text)}: ${result.message}`);
}

parsing('every bad form is refused with words saying what is wrong', () => {
  refused('', /Enter an amount/);
  refused('   ', /Enter an amount/);
  refused('0', /more than zero/);
  refused('0.00', /more than zero/);
  refused('-5', /more than zero/);
  refused('-0.01', /more than zero/);
  refused('1e3', /without an exponent/);
  refused('1.5E3', /without an exponent/);
  refused('12.345', /at most two decimals/);
  refused('0.001', /at most two decimals/);
  refused('149,90', /dot for kopecks/);
  refused('1 500', /without spaces/);
  refused(`1${NBSP}500.00`, /without spaces/);
  refused('abc', /number of rubles/);
  refused('12abc', /number of rubles/);
  refused('.5', /number of rubles/);
  refused('5.', /number of rubles/);
  refused('+5', /number of rubles/);
  refused('1.2.3', /number of rubles/);
  refused('0x10', /number of rubles/);
  refused('Infinity', /number of rubles/);
  refused('NaN', /number of rubles/);
  refused('₽100', /number of rubles/);
  refused('١٢', /number of rubles/);
});

parsing.run();

const formatting = suite('formatRubles: kopecks → "1 234.50 ₽"');

formatting('two decimals, groups of three, the ruble sign after a no-break space', () => {
  assert.is(formatRubles(0n), `0.00${NBSP}₽`);
  assert.is(formatRubles(1n), `0.01${NBSP}₽`);
  assert.is(formatRubles(14990n), `149.90${NBSP}₽`);
  assert.is(formatRubles(100000n), `1${NBSP}000.00${NBSP}₽`);
  assert.is(formatRubles(123450n), `1${NBSP}234.50${NBSP}₽`);
  assert.is(formatRubles(99999999999999n), `999${NBSP}999${NBSP}999${NBSP}999.99${NBSP}₽`);
  assert.is(
    formatRubles(MAX_KOPECKS * 3n),
    `3${NBSP}000${NBSP}000${NBSP}000${NBSP}000.00${NBSP}₽`,
    'a balance may pass the per-amount limit',
  );
});

formatting('a negative amount gets a minus sign', () => {
  assert.is(formatRubles(-123450n), `−1${NBSP}234.50${NBSP}₽`);
});

formatting('toDecimalText is the plain text the API reads', () => {
  assert.is(toDecimalText(14990n), '149.90');
  assert.is(toDecimalText(5n), '0.05');
  assert.is(toDecimalText(-5n), '-0.05');
});

formatting.run();

const json = suite('kopecks ⇄ the JSON numbers of the API');

json('toRublesNumber writes the decimal without float noise or exponent', () => {
  assert.is(JSON.stringify({ amount: toRublesNumber(14990n) }), '{"amount":149.9}');
  assert.is(JSON.stringify({ amount: toRublesNumber(50050n) }), '{"amount":500.5}');
  assert.is(JSON.stringify({ amount: toRublesNumber(1n) }), '{"amount":0.01}');
  assert.is(JSON.stringify({ amount: toRublesNumber(29n) }), '{"amount":0.29}');
  assert.is(JSON.stringify({ amount: toRublesNumber(99999999999999n) }), '{"amount":999999999999.99}');
  assert.is(JSON.stringify({ amount: toRublesNumber(MAX_KOPECKS) }), '{"amount":1000000000000}');
});

json('fromRublesNumber reads what the server wrote', () => {
  assert.is(fromRublesNumber(149.9), 14990n);
  assert.is(fromRublesNumber(0.29), 29n);
  assert.is(fromRublesNumber(350.6), 35060n);
  assert.is(fromRublesNumber(0), 0n);
  assert.is(fromRublesNumber(1e12), MAX_KOPECKS);
  assert.is(fromRublesNumber(999999999999.99), 99999999999999n);
  assert.is(fromRublesNumber(-1.5), -150n);
  assert.throws(() => fromRublesNumber(Number.NaN), RangeError);
  assert.throws(() => fromRublesNumber(Number.POSITIVE_INFINITY), RangeError);
});

json('every two-decimal amount up to 100 000 ₽ survives the round trip', () => {
  for (let kopecks = 0n; kopecks <= 10_000_000n; kopecks += 997n) {
    const back = fromRublesNumber(JSON.parse(JSON.stringify(toRublesNumber(kopecks))) as number);
    if (back !== kopecks) assert.unreachable(`${kopecks} came back as ${back}`);
  }
});

json.run();
