import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditFailures, type Audit } from '@gozon/testkit';

// The checker the fault suite and the benchmark trust must be able to say no.

const clean: Audit = {
  orders: 10,
  doubled: 0,
  lost: 0,
  stuck: 0,
  doubleDebits: 0,
  finishedWithoutOneDebit: 0,
  cancelledWithDebit: 0,
  debitsWithoutOrder: 0,
  walletsOff: [],
  negativeWallets: [],
  totalsBalance: true,
  unsent: 0,
  setAside: 0,
  deadLettered: ['b', 'a'].sort(),
};

const audit = suite('auditFailures');

audit('a clean audit with exactly the expected dead letters passes', () => {
  assert.equal(auditFailures(clean, ['a', 'b']), []);
});

for (const [what, change, words] of [
  ['a lost order', { lost: 1 }, /1 accepted orders missing/],
  ['a client request that placed two orders', { doubled: 1 }, /1 client requests placed more than one order/],
  ['a stuck order', { stuck: 2 }, /2 orders still NEW/],
  ['a double debit', { doubleDebits: 1 }, /debited twice/],
  ['a FINISHED order without its debit', { finishedWithoutOneDebit: 1 }, /FINISHED/],
  ['a CANCELLED order with a debit', { cancelledWithDebit: 1 }, /CANCELLED/],
  ['a debit without an order', { debitsWithoutOrder: 1 }, /without an order/],
  ['a wallet whose balance is not its ledger', { walletsOff: ['w1'] }, /w1/],
  ['a negative wallet', { negativeWallets: ['w2'] }, /negative wallets: w2/],
  ['totals that do not add up', { totalsBalance: false }, /Σ balances/],
  ['an unsent outbox row', { unsent: 3 }, /3 outbox rows unsent/],
  ['an outbox row set aside', { setAside: 2 }, /2 outbox rows set aside/],
  ['an unexpected dead letter', { deadLettered: ['a', 'b', 'c'] }, /dead letters/],
] as const) {
  audit(`fails on ${what}`, () => {
    const failures = auditFailures({ ...clean, ...change } as Audit, ['a', 'b']);
    assert.is(failures.length, 1);
    assert.match(failures[0]!, words);
  });
}

audit('fails when an expected dead letter is missing', () => {
  assert.match(auditFailures(clean, ['a', 'b', 'poison']).join(), /expected/);
});

audit.run();
