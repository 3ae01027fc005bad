import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.ts';
import { resolveOptions } from '../../src/simulator/options.ts';

test('defaults: loopback, ephemeral port, PKCS#1 v1.5 to the SKI, AES128_CBC and DES_EDE3_CBC', () => {
  const options = resolveOptions({});
  assert.equal(options.host, '127.0.0.1');
  assert.equal(options.port, 0);
  assert.deepEqual(options.envelope, { keyTransport: 'rsaes-pkcs1-v1_5', recipientId: 'subjectKeyIdentifier' });
  assert.deepEqual(options.supportedCiphers, ['AES128_CBC', 'DES_EDE3_CBC']);
  assert.deepEqual(options.faults, {});
  assert.equal(options.scenario.certificateCount, 1);
});

test('bad options are UsageErrors naming the option', () => {
  const cases: [Parameters<typeof resolveOptions>[0], RegExp][] = [
    [{ port: 70000 }, /option port:/],
    [{ port: 1.5 }, /option port:/],
    [{ host: ' ' }, /option host:/],
    [{ keyTransport: 'rsa' as never }, /option keyTransport:/],
    [{ recipientId: 'name' as never }, /option recipientId:/],
    [{ supportedCiphers: ['AES128_CBC', 'RC4'] }, /option supportedCiphers: RC4 is not a cipher name/],
    [{ scenario: { computerName: 5 as never } }, /option scenario\.computerName: must be a string/],
    [{ faults: { unavailableForMs: -1 } }, /option faults\.unavailableForMs:/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => resolveOptions(options), (err: unknown) => err instanceof UsageError && message.test(err.reason), message.source);
  }
});
