/**
 * The CBC block ciphers the fabric's envelopes and PFX key bags use, by OID: the node:crypto cipher name,
 * key and IV length. One table for both: CMS content encryption (RFC 3370, RFC 3565) and PBES2 encryption
 * schemes (RFC 8018 B.2) name the same algorithms by the same OIDs.
 */
export const CBC_CIPHERS: Readonly<Record<string, { name: string; keyLength: number; ivLength: number }>> = {
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16, ivLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24, ivLength: 16 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32, ivLength: 16 },
};
