import forge from 'node-forge';

/** The few DER building blocks the simulator's CMS and PKCS#12 builders share (forge's ASN.1, our shapes). */

const { asn1 } = forge;
const { Class, Type } = asn1;

export type Asn1 = forge.asn1.Asn1;

export function seq(items: Asn1[]): Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, items);
}

export function objectId(oid: string): Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(oid).getBytes());
}

export function integer(value: number): Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.INTEGER, false, asn1.integerToDer(value).getBytes());
}

/** An OCTET STRING from bytes or a forge binary string. */
export function octets(bytes: Buffer | string): Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, typeof bytes === 'string' ? bytes : bytes.toString('binary'));
}

export function nullValue(): Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.NULL, false, '');
}

export function toDer(value: Asn1): Buffer {
  return Buffer.from(asn1.toDer(value).getBytes(), 'binary');
}
