import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { CertificateError } from '../../src/errors.ts';

/** Runs fn, expects a CertificateError whose reason matches, and checks that no printed form carries key or PEM text. */
export function assertCertificateError(fn: () => unknown, pattern: RegExp, keyPem?: string): CertificateError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CertificateError, `expected a CertificateError, got ${String(caught)}`);
  assert.match(caught.reason, pattern);
  const keyBody = keyPem?.split('\n')[2] ?? 'no key given';
  for (const printed of [caught.message, String(caught.stack), JSON.stringify(caught), inspect(caught, { depth: 9 })]) {
    assert.ok(!printed.includes('-----BEGIN'), 'no PEM text in the error');
    assert.ok(!printed.includes(keyBody), 'no key material in the error');
  }
  return caught;
}
