import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * The sandbox keeps no password, only a salted scrypt digest, so tests can check which password was set
 * without any file holding it. The cost is almost nothing (N=16: 16 KiB, about 0.05 ms) on purpose: it
 * protects nothing of value, and the sandbox stands in for Windows, whose own cost of setting a password
 * is not winprov's (N=1024 added 3-4 ms of CPU to every benchmark run).
 */
const SCRYPT = { N: 16, r: 8, p: 1 };

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

