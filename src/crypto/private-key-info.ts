import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { CertificateRefusedError } from '../errors.ts';
import { derReader, type Asn1 } from './der.ts';
import { nullValue, octetString, oid as oidDer, sequence, tlv, unsignedInteger } from './der-writer.ts';
import type { WorkBudget } from './work-budget.ts';

/**
 * The private keys of a PFX, read before node:crypto sees them. OpenSSL loads a PKCS#8 key in one synchronous
 * native call whose cost the key itself sets: for a DSA key without its public value it computes g^x mod p
 * with whatever p and x the key names (a minute for a 20 KB key, hours for 50 KB), and no deadline can stop
 * a call that blocks the event loop. So the PrivateKeyInfo (RFC 5208; OneAsymmetricKey, RFC 5958) is read
 * here with the project's DER reader, and only keys of bounded cost go on: RSA (RFC 8017 A.1.2) up to 16384
 * bits, and EC on a named curve (RFC 5480, RFC 5915), the keys Windows and Key Vault put in a PFX.
 * Anything else is refused by its algorithm OID. OpenSSL is then given a minimal PKCS#8 re-encoded from the
 * checked fields, so it parses nothing that was not read here.
 */

/** The largest RSA modulus read: Windows' key storage providers go up to 16384 bits. */
export const MAX_RSA_MODULUS_BITS = 16_384;

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';

/** Named curves read (RFC 5480 2.1.1.1 and SEC 2), with the length of their private keys in bytes and OpenSSL's name. */
const CURVES: Record<string, { name: string; bytes: number; openssl: string }> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', bytes: 32, openssl: 'prime256v1' },
  '1.3.132.0.34': { name: 'P-384', bytes: 48, openssl: 'secp384r1' },
  '1.3.132.0.35': { name: 'P-521', bytes: 66, openssl: 'secp521r1' },
  '1.3.132.0.10': { name: 'secp256k1', bytes: 32, openssl: 'secp256k1' },
};

/** Names for the refused algorithms one may meet, so the reason reads without an OID table. */
const KNOWN_ALGORITHMS: Record<string, string> = {
  '1.2.840.10040.4.1': 'DSA',
  '1.2.840.10046.2.1': 'X9.42 DH',
  '1.2.840.113549.1.3.1': 'PKCS#3 DH',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.3.101.110': 'X25519',
  '1.3.101.112': 'Ed25519',
};

const ACCEPTED = `rsaEncryption (${OID_RSA_ENCRYPTION}) up to ${MAX_RSA_MODULUS_BITS} bits, or EC (${OID_EC_PUBLIC_KEY}) on ${Object.values(CURVES).map((c) => c.name).join(', ')}`;

const RSA_FIELDS = ['modulus', 'publicExponent', 'privateExponent', 'prime1', 'prime2', 'exponent1', 'exponent2', 'coefficient'] as const;

const { Class, Type } = forge.asn1;
const { parse, children, universal, oid, bytes, integer, within, fail } = derReader('PKCS#12');

/**
 * Checks a PrivateKeyInfo (a key bag's value, or a shrouded key bag's plaintext) and returns the key as a
 * minimal PKCS#8 DER for node:crypto. `where` names the bag; the inner key's ASN.1 values are charged to the
 * budget. A key of another algorithm, or over the size limits, is a refusal; a malformed one a CertificateError.
 */
export function checkedPrivateKey(info: Asn1, where: string, budget: WorkBudget): Buffer {
  return within(where, () => {
    const fields = children(info, `${where} PrivateKeyInfo`);
    const version = integer(fields[0], `${where} PrivateKeyInfo version`);
    if (version !== 0 && version !== 1) fail(`${where} PrivateKeyInfo version is ${version}, not 0 or 1 (RFC 5958)`);
    const algorithm = children(fields[1], `${where} privateKeyAlgorithm`);
    const algorithmOid = oid(algorithm[0], `${where} privateKeyAlgorithm`);
    const privateKey = bytes(universal(fields[2], Type.OCTETSTRING, `${where} privateKey`), `${where} privateKey`);
    if (algorithmOid === OID_RSA_ENCRYPTION) return rsaKey(algorithm[1], privateKey, where, budget);
    if (algorithmOid === OID_EC_PUBLIC_KEY) return ecKey(algorithm[1], privateKey, where, budget);
    return refuse(`${where} key algorithm ${algorithmName(algorithmOid)} is not accepted (${ACCEPTED})`, 'key algorithm');
  });
}

/**
 * The same rules for a key OpenSSL has already loaded (a small shrouded key, pkcs12.ts NATIVE_KEY_MAX_BYTES): by
 * the type and details node:crypto reports. Returns the key.
 */
export function checkedKeyObject(key: KeyObject, where: string): KeyObject {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? Number.POSITIVE_INFINITY;
    if (bits > MAX_RSA_MODULUS_BITS) refuse(`${where} RSA modulus has ${bits} bits, over the limit of ${MAX_RSA_MODULUS_BITS}`, 'key size');
    return key;
  }
  if (key.asymmetricKeyType === 'ec') {
    if (Object.values(CURVES).some((curve) => curve.openssl === details.namedCurve)) return key;
    if (details.namedCurve === undefined) refuse(`${where} EC key parameters do not name a curve (explicit and implicit curves are not accepted, RFC 5480 2.1.1)`, 'key algorithm');
    return refuse(`${where} EC curve ${details.namedCurve} is not accepted (${ACCEPTED})`, 'key algorithm');
  }
  const oid = NODE_KEY_TYPES[key.asymmetricKeyType ?? ''];
  return refuse(`${where} key algorithm ${oid === undefined ? key.asymmetricKeyType ?? 'unknown' : algorithmName(oid)} is not accepted (${ACCEPTED})`, 'key algorithm');
}

/** node:crypto's name of a key type, as its algorithm OID (Node reports PKCS#3 and X9.42 DH keys both as dh). */
const NODE_KEY_TYPES: Record<string, string> = {
  dsa: '1.2.840.10040.4.1', dh: '1.2.840.113549.1.3.1', 'rsa-pss': '1.2.840.113549.1.1.10', x25519: '1.3.101.110', ed25519: '1.3.101.112',
};

function algorithmName(oid: string): string {
  const name = KNOWN_ALGORITHMS[oid];
  return name === undefined ? oid : `${name} (${oid})`;
}

/** RSAPrivateKey ::= SEQUENCE { version 0, n, e, d, p, q, d mod (p-1), d mod (q-1), q^-1 mod p } (two-prime only). */
function rsaKey(parameters: Asn1 | undefined, der: string, where: string, budget: WorkBudget): Buffer {
  // RFC 8017 A.1: the parameters are NULL; some writers leave them out.
  if (parameters !== undefined && (parameters.tagClass !== Class.UNIVERSAL || parameters.type !== Type.NULL)) {
    fail(`${where} rsaEncryption parameters are not NULL`);
  }
  const fields = children(parse(der, `${where} RSAPrivateKey`, budget), `${where} RSAPrivateKey`);
  const version = integer(fields[0], `${where} RSAPrivateKey version`);
  if (version !== 0) refuse(`${where} RSAPrivateKey version ${version} (multi-prime) is not accepted (two-prime keys only, RFC 8017 A.1.2)`, 'key algorithm');
  if (fields.length !== 1 + RSA_FIELDS.length) fail(`${where} RSAPrivateKey has ${fields.length} fields, not ${1 + RSA_FIELDS.length}`);
  const values = RSA_FIELDS.map((name, index) => magnitude(fields[index + 1], `${where} RSAPrivateKey ${name}`));
  const modulus = values[0]!;
  const modulusBits = (modulus.length - 1) * 8 + (32 - Math.clz32(modulus[0]!));
  if (modulusBits > MAX_RSA_MODULUS_BITS) refuse(`${where} RSA modulus has ${modulusBits} bits, over the limit of ${MAX_RSA_MODULUS_BITS}`, 'key size');
  // Every other field is smaller than n for a real key: one longer than n only costs.
  for (const [index, value] of values.entries()) {
    if (value.length > modulus.length) refuse(`${where} RSAPrivateKey ${RSA_FIELDS[index]} is longer than the modulus (${value.length} > ${modulus.length} bytes)`, 'key size');
  }
  return pkcs8(sequence(oidDer(OID_RSA_ENCRYPTION), nullValue()), sequence(tlv(0x02, Buffer.from([0])), ...values.map(unsignedInteger)));
}

/** ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] ECParameters OPTIONAL, [1] publicKey OPTIONAL } (RFC 5915). */
function ecKey(parameters: Asn1 | undefined, der: string, where: string, budget: WorkBudget): Buffer {
  // RFC 5480 2.1.1: namedCurve only; specifiedCurve would have OpenSSL work on a curve the blob defines.
  if (parameters === undefined || parameters.tagClass !== Class.UNIVERSAL || parameters.type !== Type.OID) {
    refuse(`${where} EC key parameters do not name a curve (explicit and implicit curves are not accepted, RFC 5480 2.1.1)`, 'key algorithm');
  }
  const curveOid = oid(parameters, `${where} EC namedCurve`);
  const curve = CURVES[curveOid];
  if (curve === undefined) refuse(`${where} EC curve ${curveOid} is not accepted (${ACCEPTED})`, 'key algorithm');
  const fields = children(parse(der, `${where} ECPrivateKey`, budget), `${where} ECPrivateKey`);
  const version = integer(fields[0], `${where} ECPrivateKey version`);
  if (version !== 1) fail(`${where} ECPrivateKey version is ${version}, not 1`);
  const d = Buffer.from(bytes(universal(fields[1], Type.OCTETSTRING, `${where} ECPrivateKey privateKey`), `${where} ECPrivateKey privateKey`), 'binary');
  // ceiling(log2(n) / 8) octets (RFC 5915 section 3); some writers drop leading zeros.
  if (d.length === 0 || d.length > curve.bytes) refuse(`${where} EC private key has ${d.length} bytes, a ${curve.name} key at most ${curve.bytes}`, 'key size');
  const named = fields.slice(2).find((field) => field.tagClass === Class.CONTEXT_SPECIFIC && field.type === 0);
  if (named !== undefined && oid(children(named, `${where} ECPrivateKey parameters`)[0], `${where} ECPrivateKey parameters`) !== curveOid) {
    fail(`${where} ECPrivateKey parameters name another curve than its privateKeyAlgorithm`);
  }
  // The public key is left out: OpenSSL derives it from d on the named curve, one bounded multiplication.
  return pkcs8(sequence(oidDer(OID_EC_PUBLIC_KEY), oidDer(curveOid)), sequence(tlv(0x02, Buffer.from([1])), octetString(d)));
}

/** PrivateKeyInfo version 0 with the checked algorithm and key, nothing else (no attributes). */
function pkcs8(algorithm: Buffer, key: Buffer): Buffer {
  return sequence(tlv(0x02, Buffer.from([0])), algorithm, octetString(key));
}

/** A non-negative INTEGER's magnitude, without leading zero octets (one octet for zero). */
function magnitude(node: Asn1 | undefined, what: string): Buffer {
  const value = universal(node, Type.INTEGER, what).value;
  if (typeof value !== 'string' || value.length === 0) fail(`${what} is not a valid INTEGER`);
  const raw = Buffer.from(value as string, 'binary');
  if (raw[0]! & 0x80) fail(`${what} is negative`);
  let start = 0;
  while (start < raw.length - 1 && raw[start] === 0) start += 1;
  return raw.subarray(start);
}

function refuse(rule: string, limit: string): never {
  throw new CertificateRefusedError(`PKCS#12: ${rule}`, { context: { limit } });
}
