import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { seq, objectId, integer, octets, nullValue, toDer } from './asn1.ts';

/**
 * The simulator's CMS EnvelopedData builder (RFC 5652 section 6), shaped like the fabric's certificates blob.
 * It is written apart from the agent's decryptor on purpose: RSA and the content cipher run in forge here
 * and in node:crypto there, and the certificate fields come from forge's parser, so a mistake in one
 * side's reading of the RFC shows up as a failed round trip instead of hiding in both.
 */

/** How the envelope is built: key transport, content cipher and how the recipient is named. */
export interface EnvelopeOptions {
  keyTransport: 'rsaes-pkcs1-v1_5' | 'rsaes-oaep-sha1';
  cipher: 'des-ede3-cbc' | 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc';
  recipientId: 'issuerAndSerialNumber' | 'subjectKeyIdentifier';
}

const { asn1 } = forge;
const { Class, Type } = asn1;

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';
const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_RSAES_OAEP = '1.2.840.113549.1.1.7';

/** Content ciphers (RFC 3370 section 5.1, RFC 3565 section 4.1): OID, forge cipher, key and IV sizes. */
const CIPHERS = {
  'des-ede3-cbc': { oid: '1.2.840.113549.3.7', forgeName: '3DES-CBC', keyLength: 24, ivLength: 8 },
  'aes-128-cbc': { oid: '2.16.840.1.101.3.4.1.2', forgeName: 'AES-CBC', keyLength: 16, ivLength: 16 },
  'aes-192-cbc': { oid: '2.16.840.1.101.3.4.1.22', forgeName: 'AES-CBC', keyLength: 24, ivLength: 16 },
  'aes-256-cbc': { oid: '2.16.840.1.101.3.4.1.42', forgeName: 'AES-CBC', keyLength: 32, ivLength: 16 },
} as const;

/**
 * Encrypts content to the certificate's RSA key and returns the DER ContentInfo (pkcs7-envelopedData).
 * recipientCertPem may be the agent's header value between BEGIN/END lines (one base64 line is fine); a text
 * that is not a PEM RSA certificate throws forge's parse error.
 */
export function buildEnvelopedData(content: Uint8Array, recipientCertPem: string, options: EnvelopeOptions): Uint8Array {
  const cert = forge.pki.certificateFromPem(recipientCertPem);
  const publicKey = cert.publicKey as forge.pki.rsa.PublicKey;
  const cipher = CIPHERS[options.cipher];
  const cek = randomBytes(cipher.keyLength).toString('binary');
  const iv = randomBytes(cipher.ivLength).toString('binary');

  const encryptor = forge.cipher.createCipher(cipher.forgeName, cek);
  encryptor.start({ iv });
  encryptor.update(forge.util.createBuffer(Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('binary')));
  encryptor.finish(); // PKCS#7 padding (RFC 5652 section 6.3)
  const encryptedContent = encryptor.output.getBytes();

  const oaep = options.keyTransport === 'rsaes-oaep-sha1';
  const encryptedKey = oaep
    ? publicKey.encrypt(cek, 'RSA-OAEP', { md: forge.md.sha1.create(), mgf1: { md: forge.md.sha1.create() } })
    : publicKey.encrypt(cek, 'RSAES-PKCS1-V1_5');
  // RFC 3560 section 3: OAEP with all-default (SHA-1) parameters is an empty RSAES-OAEP-params SEQUENCE.
  const keyEncryptionAlgorithm = seq([objectId(oaep ? OID_RSAES_OAEP : OID_RSA_ENCRYPTION), oaep ? seq([]) : nullValue()]);

  const bySki = options.recipientId === 'subjectKeyIdentifier';
  const rid = bySki
    ? asn1.create(Class.CONTEXT_SPECIFIC, 0, false, subjectKeyIdentifier(cert))
    : seq([forge.pki.distinguishedNameToAsn1(cert.issuer), asn1.create(Class.UNIVERSAL, Type.INTEGER, false, forge.util.hexToBytes(cert.serialNumber))]);
  // RFC 5652 section 6.2.1: KeyTransRecipientInfo version 2 with subjectKeyIdentifier, 0 with issuerAndSerialNumber;
  // section 6.1: EnvelopedData version 2 when any RecipientInfo is not version 0, else 0.
  const version = bySki ? 2 : 0;
  const recipientInfo = seq([integer(version), rid, keyEncryptionAlgorithm, octets(encryptedKey)]);

  const envelopedData = seq([
    integer(version),
    asn1.create(Class.UNIVERSAL, Type.SET, true, [recipientInfo]),
    seq([
      objectId(OID_DATA),
      seq([objectId(cipher.oid), octets(iv)]),
      asn1.create(Class.CONTEXT_SPECIFIC, 0, false, encryptedContent),
    ]),
  ]);
  const contentInfo = seq([objectId(OID_ENVELOPED_DATA), asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [envelopedData])]);
  return new Uint8Array(Buffer.from(asn1.toDer(contentInfo).getBytes(), 'binary'));
}

/** The certificate's own SubjectKeyIdentifier extension, else RFC 5280 section 4.2.1.2 method 1 (SHA-1 of the RSAPublicKey). */
function subjectKeyIdentifier(cert: forge.pki.Certificate): string {
  const extension = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  if (extension?.subjectKeyIdentifier !== undefined) return forge.util.hexToBytes(extension.subjectKeyIdentifier);
  return forge.pki.getPublicKeyFingerprint(cert.publicKey, { type: 'RSAPublicKey', md: forge.md.sha1.create(), encoding: 'binary' });
}





