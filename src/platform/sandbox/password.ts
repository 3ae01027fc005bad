import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * The sandbox keeps no password, only a salted scrypt digest, so tests can check which password was set
 * without any file holding it. The cost is low on purpose: it protects nothing of value.
 */
const SCRYPT = { N: 1024, r: 8, p: 1 };

/** Checks a password against the digest the sandbox stored (for tests). */
export function passwordMatches(passwordDigest: string, password: string): boolean {
  const [salt, hash] = passwordDigest.split(':');
  if (!salt || !hash) return false;
  const actual = scryptSync(password, Buffer.from(salt, "hex"), 32, SCRYPT);
  return timingSafeEqual(actual, Buffer.from(hash, 'hex'));
}

export function digest(password: string): string {
  const salt = randomBytes(16);
  return `${salt.toString('hex')}:${scryptSync(password, salt, 32, SCRYPT).toString('hex')}`;
}

