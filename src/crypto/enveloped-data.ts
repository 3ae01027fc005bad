import { X509Certificate, constants, createDecipheriv, createHash, createPrivateKey, privateDecrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { derReader, type Asn1 } from './der.ts';
import { CertificateError } from '../errors.ts';
import type { Secret } from '../util/secret.ts';
import { WorkBudget } from './work-budget.ts';
import { CBC_CIPHERS } from './cbc-ciphers.ts';

/**
 * Opens the fabric's certificates blob: a CMS ContentInfo holding EnvelopedData (RFC 5652 section 6).
 * forge.pkcs7 cannot read it (the recipient is named by subjectKeyIdentifier, newer fabrics use RSAES-OAEP),
 * so this walks the ASN.1 itself; RSA and the block ciphers run in node:crypto.
 */

const { Class, Type } = forge.asn1;

const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
const OID_RSA_PKCS1 = '1.2.840.113549.1.1.1';
const OID_RSA_OAEP = '1.2.840.113549.1.1.7';
const OID_MGF1 = '1.2.840.113549.1.1.8';
const OID_P_SPECIFIED = '1.2.840.113549.1.1.9';
const OID_SHA1 = '1.3.14.3.2.26';
const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';


/** The transport key pair the envelope was addressed to. */
export interface EnvelopeRecipient {
  keyPem: Secret<string>;
  certPem: string;
}

/**
 * Decrypts a DER (or BER) CMS EnvelopedData addressed to the transport certificate and returns the content (the
 * PKCS#12). Whatever the blob holds, the outcome is the content or a CertificateError naming the structure that
 * failed (within()); the budget's clock is read before the RSA and the content decryption.
 */
export function decryptEnvelopedData(der: Uint8Array, recipient: EnvelopeRecipient, budget: WorkBudget = new WorkBudget()): Uint8Array {
  const { key, identity } = readRecipient(recipient);
  budget.checkClock();
  const contentInfo = within('ContentInfo', () => children(parse(der, 'CMS ContentInfo', budget), 'ContentInfo'));
  const enveloped = within('ContentInfo', () => {
    const contentType = oid(contentInfo[0], 'ContentInfo contentType');
    if (contentType !== OID_ENVELOPED_DATA) {
      fail(`ContentInfo contentType is ${describeOid(contentType)}, not envelopedData (${OID_ENVELOPED_DATA})`);
    }
    const wrapper = contentInfo[1];
    if (wrapper === undefined || wrapper.tagClass !== Class.CONTEXT_SPECIFIC || wrapper.type !== 0) {
      fail('ContentInfo has no [0] content');
    }
    return children(children(wrapper, 'ContentInfo content')[0], 'EnvelopedData');
  });
  // EnvelopedData ::= SEQUENCE { version, originatorInfo [0] OPTIONAL, recipientInfos SET, encryptedContentInfo, ... }
  let index = 1;
  if (enveloped[index]?.tagClass === Class.CONTEXT_SPECIFIC && enveloped[index]?.type === 0) index += 1;
  const ktri = within('EnvelopedData.recipientInfos', () =>
    findRecipient(children(universal(enveloped[index], Type.SET, 'EnvelopedData recipientInfos'), 'recipientInfos'), identity));
  const cek = within('EnvelopedData.recipientInfos KeyTransRecipientInfo', () => decryptContentKey(ktri, key));
  budget.checkClock();
  return within('EnvelopedData.encryptedContentInfo', () => decryptContent(children(enveloped[index + 1], 'EnvelopedData encryptedContentInfo'), cek));
}

interface Identity {
  issuerDer: string;
  serial: string;
  keyIdentifiers: string[];
}

/** Reads the transport key and the identifiers an envelope may use for its certificate (RFC 5652 6.2.1). */
function readRecipient(recipient: EnvelopeRecipient): { key: KeyObject; identity: Identity } {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(recipient.certPem);
  } catch {
    fail('the transport certificate is not a valid PEM certificate');
  }
  try {
    key = createPrivateKey(recipient.keyPem.reveal());
  } catch {
    fail('the transport private key is not a valid PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa' || !cert.checkPrivateKey(key)) {
    fail('the transport private key is not the RSA key of the transport certificate');
  }
  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version, serialNumber, signature, issuer, validity, subject, spki, ..., [3] extensions } }
  const tbs = children(children(parse(cert.raw, 'the transport certificate'), 'the transport certificate')[0], 'tbsCertificate');
  const fields = tbs[0]?.tagClass === Class.CONTEXT_SPECIFIC ? tbs.slice(1) : tbs;
  const spki = children(fields[5], 'subjectPublicKeyInfo');
  const publicKeyBits = bytes(universal(spki[1], Type.BITSTRING, 'subjectPublicKey'), 'subjectPublicKey').slice(1);
  // RFC 5280 4.2.1.2 method 1 (SHA-1 of the subjectPublicKey bits), plus the certificate's own extension if it differs.
  const keyIdentifiers = [createHash('sha1').update(publicKeyBits, 'binary').digest('binary')];
  const ownSki = subjectKeyIdentifierExtension(tbs);
  if (ownSki !== undefined && ownSki !== keyIdentifiers[0]) keyIdentifiers.push(ownSki);
  return {
    key,
    identity: {
      issuerDer: forge.asn1.toDer(universal(fields[2], Type.SEQUENCE, 'issuer')).getBytes(),
      serial: integer(fields[0], 'serialNumber'),
      keyIdentifiers,
    },
  };
}

function subjectKeyIdentifierExtension(tbs: Asn1[]): string | undefined {
  const wrapper = tbs.find((n) => n.tagClass === Class.CONTEXT_SPECIFIC && n.type === 3);
  if (wrapper === undefined) return undefined;
  for (const extension of children(children(wrapper, 'extensions')[0], 'extensions')) {
    const parts = children(extension, 'extension');
    if (oid(parts[0], 'extnID') !== OID_SUBJECT_KEY_IDENTIFIER) continue;
    const value = bytes(parts[parts.length - 1], 'subjectKeyIdentifier');
    return bytes(universal(parse(value, 'subjectKeyIdentifier'), Type.OCTETSTRING, 'subjectKeyIdentifier'), 'subjectKeyIdentifier');
  }
  return undefined;
}

/** Picks the KeyTransRecipientInfo whose rid names our certificate: [0] subjectKeyIdentifier or issuerAndSerialNumber. */
function findRecipient(recipientInfos: Asn1[], identity: Identity): Asn1[] {
  const seen: string[] = [];
  for (const [index, info] of recipientInfos.entries()) {
    // Other RecipientInfo choices (kari [1], kekri [2], pwri [3], ori [4]) are context-tagged; only ktri is a SEQUENCE.
    if (info.tagClass !== Class.UNIVERSAL || info.type !== Type.SEQUENCE) {
      seen.push(`[${info.type}]`);
      continue;
    }
    // A malformed RecipientInfo is one alternative among several: the next one may still be ours.
    let named: { ktri: Asn1[]; matches: boolean; label: string };
    try {
      named = within(`EnvelopedData.recipientInfos[${index}]`, () => readRid(info, identity));
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      seen.push(`RecipientInfo ${index} (malformed)`);
      continue;
    }
    if (named.matches) return named.ktri;
    seen.push(named.label);
  }
  // A hostile blob may list thousands: the reason names the first few.
  const listed = seen.length === 0 ? 'no recipient' : seen.slice(0, 4).join(', ') + (seen.length > 4 ? ` and ${seen.length - 4} more` : '');
  return fail(
    `no recipient matches the transport certificate (subjectKeyIdentifier ${hex(identity.keyIdentifiers[0]!)}, ` +
      `serial ${hex(identity.serial)}); the envelope names ${listed}`,
  );
}

/** KeyTransRecipientInfo ::= SEQUENCE { version, rid, keyEncryptionAlgorithm, encryptedKey }, and whether its rid names us. */
function readRid(info: Asn1, identity: Identity): { ktri: Asn1[]; matches: boolean; label: string } {
  const ktri = children(info, 'KeyTransRecipientInfo');
  const rid = ktri[1];
  if (rid?.tagClass === Class.CONTEXT_SPECIFIC && rid.type === 0) {
    const ski = bytes(rid, 'subjectKeyIdentifier');
    return { ktri, matches: identity.keyIdentifiers.includes(ski), label: `subjectKeyIdentifier ${hex(ski.slice(0, 32))}` };
  }
  const issuerAndSerial = children(universal(rid, Type.SEQUENCE, 'KeyTransRecipientInfo rid'), 'issuerAndSerialNumber');
  const issuer = forge.asn1.toDer(universal(issuerAndSerial[0], Type.SEQUENCE, 'rid issuer')).getBytes();
  const serial = integer(issuerAndSerial[1], 'rid serialNumber');
  return { ktri, matches: issuer === identity.issuerDer && serial === identity.serial, label: `issuerAndSerialNumber serial ${hex(serial.slice(0, 32))}` };
}

/** Unwraps the content-encryption key: RSAES-PKCS1-v1_5 or RSAES-OAEP with SHA-1 (RFC 3560). */
function decryptContentKey(ktri: Asn1[], key: KeyObject): Buffer {
  const algorithm = children(ktri[2], 'keyEncryptionAlgorithm');
  const algorithmOid = oid(algorithm[0], 'keyEncryptionAlgorithm');
  const encryptedKey = Buffer.from(bytes(universal(ktri[3], Type.OCTETSTRING, 'encryptedKey'), 'encryptedKey'), 'binary');
  if (algorithmOid === OID_RSA_PKCS1) {
    try {
      // Node 24's OpenSSL uses implicit rejection here: a wrong key gives a random-looking key, not an
      // error. decryptContent's key-length and CBC padding checks turn that into a clear failure.
      return privateDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, encryptedKey);
    } catch {
      return fail('RSAES-PKCS1-v1_5 decryption of the content-encryption key failed (the envelope is not for this transport key, or it is corrupt)');
    }
  }
  if (algorithmOid === OID_RSA_OAEP) {
    const label = oaepLabel(algorithm[1]);
    try {
      return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1', oaepLabel: label }, encryptedKey);
    } catch {
      return fail('RSAES-OAEP decryption of the content-encryption key failed (the envelope is not for this transport key, or it is corrupt)');
    }
  }
  return fail(`key transport algorithm ${describeOid(algorithmOid)} is not supported (RSAES-PKCS1-v1_5 or RSAES-OAEP only)`);
}

/** Checks RSAES-OAEP-params (RFC 4055 section 3.1): SHA-1 and MGF1-SHA-1 only; returns the pSpecified label. */
function oaepLabel(params: Asn1 | undefined): Buffer | undefined {
  if (params === undefined || (params.tagClass === Class.UNIVERSAL && params.type === Type.NULL)) return undefined;
  let label: Buffer | undefined;
  for (const field of children(params, 'RSAES-OAEP-params')) {
    const algorithm = children(children(field, 'RSAES-OAEP-params field')[0], 'RSAES-OAEP-params algorithm');
    const algorithmOid = oid(algorithm[0], 'RSAES-OAEP-params algorithm');
    if (field.type === 0 && algorithmOid !== OID_SHA1) {
      fail(`RSAES-OAEP hashAlgorithm ${describeOid(algorithmOid)} is not supported (SHA-1 only)`);
    } else if (field.type === 1) {
      const mgfHash = algorithm[1] === undefined ? OID_SHA1 : oid(children(algorithm[1], 'MGF1 parameters')[0], 'MGF1 hash');
      if (algorithmOid !== OID_MGF1 || mgfHash !== OID_SHA1) {
        fail(`RSAES-OAEP maskGenAlgorithm ${describeOid(algorithmOid)} with ${describeOid(mgfHash)} is not supported (MGF1 with SHA-1 only)`);
      }
    } else if (field.type === 2) {
      if (algorithmOid !== OID_P_SPECIFIED) fail(`RSAES-OAEP pSourceAlgorithm ${describeOid(algorithmOid)} is not supported`);
      label = Buffer.from(bytes(universal(algorithm[1], Type.OCTETSTRING, 'pSpecified label'), 'pSpecified label'), 'binary');
    }
  }
  return label;
}

/** Decrypts EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm, [0] IMPLICIT encryptedContent }. */
function decryptContent(encryptedContentInfo: Asn1[], cek: Buffer): Uint8Array {
  const algorithm = children(encryptedContentInfo[1], 'contentEncryptionAlgorithm');
  const algorithmOid = oid(algorithm[0], 'contentEncryptionAlgorithm');
  const cipher = CBC_CIPHERS[algorithmOid];
  if (cipher === undefined) {
    fail(`content cipher ${describeOid(algorithmOid)} is not supported (AES-128/192/256-CBC or DES-EDE3-CBC only)`);
  }
  const iv = Buffer.from(bytes(universal(algorithm[1], Type.OCTETSTRING, `${cipher.name} IV`), `${cipher.name} IV`), 'binary');
  if (iv.length !== cipher.ivLength) fail(`${cipher.name} IV has ${iv.length} bytes, expected ${cipher.ivLength}`);
  const content = encryptedContentInfo[2];
  if (content === undefined || content.tagClass !== Class.CONTEXT_SPECIFIC || content.type !== 0) {
    fail('EncryptedContentInfo has no [0] encryptedContent (detached content is not supported)');
  }
  const ciphertext = Buffer.from(bytes(content, 'encryptedContent'), 'binary');
  if (ciphertext.length === 0 || ciphertext.length % iv.length !== 0) {
    fail(`encryptedContent has ${ciphertext.length} bytes, not a whole number of ${cipher.name} blocks (truncated?)`);
  }
  if (cek.length !== cipher.keyLength) {
    fail(`the decrypted content-encryption key has ${cek.length} bytes, ${cipher.name} needs ${cipher.keyLength} (the envelope is not for this transport key)`);
  }
  try {
    const decipher = createDecipheriv(cipher.name, cek, iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return fail(`${cipher.name} decryption failed: bad padding (the envelope is not for this transport key, or it is corrupt)`);
  }
}

// ---- ASN.1 reading: der.ts, with this module's error prefix.

const { parse, children, universal, oid, bytes, within, fail: failWith } = derReader('certificates envelope');

// A declared function, so the compiler sees that it never returns.
function fail(rule: string): never {
  return failWith(rule);
}

/** An INTEGER's contents without redundant leading zero octets, so 00 8F and 8F compare equal. */
function integer(node: Asn1 | undefined, what: string): string {
  const value = bytes(universal(node, Type.INTEGER, what), what);
  return value.replace(/^\x00+(?=[\s\S])/, '');
}

function hex(binary: string): string {
  return Buffer.from(binary, 'binary').toString('hex');
}

function describeOid(value: string): string {
  const name = (forge.pki.oids as unknown as Record<string, string | undefined>)[value];
  return name === undefined ? value : `${name} (${value})`;
}
