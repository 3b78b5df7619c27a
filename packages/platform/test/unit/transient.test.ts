import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isTransientError } from '@gozon/platform';

const transient = suite('isTransientError');

const sqlError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

transient('infrastructure conditions of PostgreSQL are transient, whatever message they carry', () => {
  for (const code of [
    '25006',
    '53100',
    '53200',
    '53300',
    '57014',
    '55P03',
    '40001',
    '40P01',
    '57P01',
    '08006',
    '08P01',
    '58030',
    '25P03',
    '42883',
  ]) {
    assert.ok(isTransientError(sqlError(code)), code);
  }
});

transient('what is wrong with the statement or the data is not', () => {
  for (const code of ['23505', '23514', '22P02', '42703', '42P01', '0A000', 'XX000']) {
    assert.not.ok(isTransientError(sqlError(code)), code);
  }
});

transient('sockets, closed channels and bounded waits that ran out are transient', () => {
  assert.ok(isTransientError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })));
  assert.ok(isTransientError(new Error('Connection terminated unexpectedly')));
  assert.ok(isTransientError(new Error('channel closed')));
  const timeout = new Error('confirms not received within 10000 ms');
  timeout.name = 'TimeoutError';
  assert.ok(isTransientError(timeout));
});

transient('a cause that is transient makes its wrapper transient; a plain bug is not', () => {
  assert.ok(isTransientError(new Error('batch failed', { cause: sqlError('25006') })));
  assert.not.ok(isTransientError(new TypeError('cannot read properties of undefined')));
  assert.not.ok(isTransientError('25006'));
});

transient.run();
