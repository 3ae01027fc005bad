import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { AgentError } from '../../src/errors.ts';
import { decryptEnvelopedData, type EnvelopeRecipient } from '../../src/crypto/enveloped-data.ts';
import { readPkcs12 } from '../../src/crypto/pkcs12.ts';
import { createTransportCertificate } from '../../src/crypto/transport-cert.ts';
import { buildEnvelopedData, type EnvelopeOptions } from '../../src/simulator/cms.ts';
import { Secret } from '../../src/util/secret.ts';
import { assemblePfx, buildPfx, safeContentsOf } from '../helpers/pfx-builder.ts';
import { fuzzParameters } from './budget.ts';
import { mutated, mutation } from './der-tree.ts';

/**
 * The certificates readers (CMS EnvelopedData, PKCS#12) on mutated DER trees built from valid envelopes and
 * PFX files: the outcome is a value or an AgentError, never another exception, and each input is handled
 * within a time bound (issue "Hold up against a hostile or broken fabric"). The samples use low iteration
 * counts so that a run of properties stays within a few seconds; a mutated count is capped like any other.
 */

/**
 * Per input. The samples cost a few ms; a mutation can raise an iteration count to the cap (10000, about
 * 10 ms a derivation) or nest values thousands deep. Generous for a loaded two-core machine.
 */
const BOUND_MS = 1000;

const fixtures = new URL('../fixtures/fabric/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, fixtures), 'utf8');
const fabricRecipient: EnvelopeRecipient = {
  keyPem: new Secret(fixture('certificates-pkcs1-3des.transport-key.pem')),
  certPem: fixture('certificates-pkcs1-3des.transport-cert.pem'),
};
const fabricBlob = Buffer.from(/<Data>([^<]+)<\/Data>/.exec(fixture('certificates-pkcs1-3des.xml'))![1]!, 'base64');

/** Runs one reader: a value or an AgentError, within BOUND_MS. */
function total(name: string, read: () => unknown): void {
  const started = performance.now();
  try {
    read();
  } catch (err) {
    assert.ok(err instanceof AgentError, `${name} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    assert.ok(err.code.length > 0 && err.reason.length > 0);
    assert.ok(err.reason.length < 600, `${name}: a reason of ${err.reason.length} characters`);
  }
  const ms = performance.now() - started;
  assert.ok(ms < BOUND_MS, `${name} took ${ms.toFixed(0)} ms`);
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });
const cut = fc.option(fc.record({ at: fc.nat(), flip: fc.boolean() }), { nil: undefined, freq: 4 });

test('DER tree mutations of valid envelopes and PFX files: both readers give a value or an AgentError, in bounded time', async () => {
  const transport = await createTransportCertificate();
  const recipient = { keyPem: transport.keyPem, certPem: transport.certPem };
  const small = buildPfx({ mac: { iterations: 16 }, key: { scheme: 'pbe-3des', iterations: 16 }, certificateIterations: 16 }).pfx;
  const pbes2 = buildPfx({ mac: false, key: { scheme: 'pbes2', iterations: 16, prf: 'sha256' }, certificateIterations: 16 }).pfx;
  const samples: [Buffer, EnvelopeRecipient][] = [
    [fabricBlob, fabricRecipient],
    [envelope(small, transport.certPem, { keyTransport: 'rsaes-oaep-sha1', cipher: 'aes-128-cbc', recipientId: 'subjectKeyIdentifier' }), recipient],
    [envelope(small, transport.certPem, { keyTransport: 'rsaes-pkcs1-v1_5', cipher: 'des-ede3-cbc', recipientId: 'issuerAndSerialNumber' }), recipient],
    [small, recipient],
    [pbes2, recipient],
  ];
  fc.assert(
    fc.property(fc.nat({ max: samples.length - 1 }), mutations, cut, (which, changes, ending) => {
      const [sample, owner] = samples[which]!;
      const input = mutated(sample, changes, ending);
      total('decryptEnvelopedData', () => decryptEnvelopedData(input, owner));
      total('readPkcs12', () => readPkcs12(input));
    }),
    fuzzParameters(0.5),
  );
});

test('CMS structure mutations: the PFX inside a mutated envelope is read, or the envelope fails with an AgentError', async () => {
  const transport = await createTransportCertificate();
  const recipient = { keyPem: transport.keyPem, certPem: transport.certPem };
  const { pfx, thumbprint } = buildPfx({ mac: { iterations: 16 }, key: { scheme: 'pbe-3des', iterations: 16 }, certificateIterations: 16 });
  const options = fc.record({
    keyTransport: fc.constantFrom('rsaes-pkcs1-v1_5' as const, 'rsaes-oaep-sha1' as const),
    cipher: fc.constantFrom('des-ede3-cbc' as const, 'aes-128-cbc' as const, 'aes-256-cbc' as const),
    recipientId: fc.constantFrom('issuerAndSerialNumber' as const, 'subjectKeyIdentifier' as const),
  });
  fc.assert(
    fc.property(options, mutations, (shape, changes) => {
      const input = mutated(envelope(pfx, transport.certPem, shape), changes);
      total('decryptEnvelopedData + readPkcs12', () => {
        const contents = readPkcs12(decryptEnvelopedData(input, recipient));
        // What comes out of a mutated envelope that still opens is the PFX that went in, or a named failure.
        assert.ok(contents.certificates.every((c) => c.thumbprint === thumbprint));
      });
    }),
    fuzzParameters(0.3),
  );
});

test('PKCS#12 structure mutations (bags, attributes, PBE parameters) under a matching MAC: a value or an AgentError, in bounded time', () => {
  const shapes = [
    safeContentsOf({ scheme: 'pbe-3des', iterations: 16 }),
    safeContentsOf({ scheme: 'pbes2', iterations: 16, prf: 'sha1' }),
    safeContentsOf({ scheme: 'pbe-rc2', iterations: 16 }),
    safeContentsOf({ scheme: 'pbes2-scrypt', cost: 1 << 20, blockSize: 8, parallelization: 1 << 10 }),
  ];
  fc.assert(
    fc.property(fc.nat({ max: shapes.length - 1 }), fc.boolean(), mutations, fc.boolean(), (which, inKeys, changes, mac) => {
      const { keys, certificates } = shapes[which]!;
      // The mutated SafeContents is then encrypted and MACed properly, so the reader gets past both checks.
      const pfx = inKeys ? assemblePfx(mutated(keys, changes), certificates, { mac }) : assemblePfx(keys, mutated(certificates, changes), { mac });
      total('readPkcs12', () => readPkcs12(pfx));
    }),
    fuzzParameters(0.3),
  );
});

test('arbitrary short byte strings (the 16-byte forged blob and its neighbours): an AgentError, never a bug', async () => {
  const transport = await createTransportCertificate();
  const recipient = { keyPem: transport.keyPem, certPem: transport.certPem };
  const derish = fc.tuple(fc.constantFrom(0x30, 0x31, 0xa0, 0x04, 0x06, 0x02), fc.uint8Array({ minLength: 0, maxLength: 31 }))
    .map(([tag, rest]) => Buffer.from([tag, rest.length, ...rest]));
  fc.assert(
    fc.property(fc.oneof(derish, fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b))), (input) => {
      total('decryptEnvelopedData', () => decryptEnvelopedData(input, recipient));
      total('readPkcs12', () => readPkcs12(input));
    }),
    fuzzParameters(0.5),
  );
});

function envelope(pfx: Uint8Array, certPem: string, options: EnvelopeOptions): Buffer {
  return Buffer.from(buildEnvelopedData(pfx, certPem, options));
}
