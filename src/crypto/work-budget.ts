import { CertificateDeadlineError, CertificateRefusedError } from '../errors.ts';

/**
 * The limits on the work a certificates blob can ask for, and the one budget the whole certificates step
 * spends from (issue "Hold up against a hostile or broken fabric"). Key derivation is synchronous, so no
 * timer can interrupt it: instead every derivation is priced and charged before it runs, and each charge
 * (and each bag read) looks at the clock. A derivation is at most MAX_ITERATIONS rounds (about 10 ms), so
 * the run's deadline stops the step within one derivation of passing.
 */

/**
 * The most iterations one derivation (a MAC, an encrypted SafeContents, a shrouded key) may ask for. The
 * fabric's PFX uses 2000 (as Windows and .NET write), OpenSSL 3 and forge 2048, Java's keytool 10000:
 * 10000 takes all of them, and one derivation at the cap costs about 10 ms here.
 */
export const MAX_ITERATIONS = 10_000;

/**
 * The derivation work of the whole certificates step (both ciphers, both passwords), in rounds: a
 * derivation's iterations times the hash outputs it produces (work()). The fabric's PFX costs
 * 8000 + 6000 per certificate with a key (MAC, certificate SafeContents, 3DES key and IV per key): 50
 * certificates take 308,000, and 4,000,000 leaves room for about 650. Spent in full it is 2 s of CPU
 * at most here (SHA-1 rounds at about 0.46 us), however the blob repeats its structures.
 */
export const WORK_BUDGET = 4_000_000;

/** AuthenticatedSafe entries (RFC 7292 section 4.1): the fabric, Windows and OpenSSL write two. */
export const MAX_AUTHENTICATED_SAFE_ENTRIES = 16;

/** Encrypted SafeContents (EncryptedData) in one AuthenticatedSafe: the fabric and Windows write one. */
export const MAX_ENCRYPTED_DATA = 4;

/** SafeBags in one PFX, nested ones included: two per certificate with a key, 8 MiB holds no more than this of real ones. */
export const MAX_SAFE_BAGS = 4096;

/**
 * ASN.1 values forge may build in one certificates step, over every parse (the envelope, the PFX, each
 * SafeContents, each key, both password attempts): der.ts counts them before forge builds any. forge keeps
 * about 75 bytes per value and takes about 0.35 us to build one, so the cap holds the trees to about
 * 20 MB and 100 ms. The fabric's PFX with 50 certificates builds about 2,800 (some 19 per SafeBag, 16 per
 * key); MAX_SAFE_BAGS real bags build about 115,000, and this cap lets both password attempts read them.
 * Without it a SafeContents of 2-byte values (a few MB) would build millions of values and hundreds of MB.
 */
export const MAX_ASN1_VALUES = 262_144;

export interface WorkBudgetOptions {
  /** Derivation rounds the step may spend (WORK_BUDGET). */
  work?: number;
  /** ASN.1 values the step may build (MAX_ASN1_VALUES). */
  values?: number;
  /** Absolute end of the run (ms epoch); none by default. */
  deadline?: number;
}

/** One budget for one certificates step: derivation rounds, ASN.1 values and the run's deadline. */
export class WorkBudget {
  readonly limit: number;
  readonly valueLimit: number;
  readonly deadline: number;
  #used = 0;
  #values = 0;

  constructor(options: WorkBudgetOptions = {}) {
    this.limit = options.work ?? WORK_BUDGET;
    this.valueLimit = options.values ?? MAX_ASN1_VALUES;
    this.deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  }

  /** ASN.1 values built so far. */
  get values(): number {
    return this.#values;
  }

  /** ASN.1 values that may still be built. */
  get valuesLeft(): number {
    return this.valueLimit - this.#values;
  }

  /** Counts the `count` values `what` is about to build, or refuses it before any is built. */
  chargeValues(count: number, what: string): void {
    if (count > this.valuesLeft) {
      throw new CertificateRefusedError(
        `${what} holds more ASN.1 values than the certificates step's limit of ${this.valueLimit} (${this.#values} already read)`,
        { context: { limit: 'values', budget: this.valueLimit } },
      );
    }
    this.#values += count;
  }

  /** Rounds spent so far. */
  get used(): number {
    return this.#used;
  }

  /** Spends `rounds` for the derivation `what` is about to run, or refuses it before any of it runs. */
  charge(rounds: number, what: string): void {
    this.checkClock();
    if (this.#used + rounds > this.limit) {
      throw new CertificateRefusedError(
        `PKCS#12: ${what} needs ${rounds} key derivation rounds, and with the ${this.#used} already spent that is over the ` +
          `certificates step's budget of ${this.limit}`,
        { context: { limit: 'work', budget: this.limit } },
      );
    }
    this.#used += rounds;
  }

  /** Throws once the run's deadline has passed; called between derivations and between bags. */
  checkClock(): void {
    if (Date.now() >= this.deadline) throw new CertificateDeadlineError(this.deadline);
  }
}

/** The rounds one derivation costs: iterations times the hash outputs needed for `length` bytes. */
export function work(iterations: number, length: number, hashLength: number): number {
  return iterations * Math.ceil(length / hashLength);
}

/** The iteration count, refused unless it is from 1 to MAX_ITERATIONS. */
export function checkedIterations(iterations: number, what: string): number {
  if (!Number.isInteger(iterations) || iterations < 1) throw new CertificateRefusedError(`PKCS#12: ${what} iteration count ${iterations} is out of range (1 to ${MAX_ITERATIONS})`);
  if (iterations > MAX_ITERATIONS) {
    throw new CertificateRefusedError(`PKCS#12: ${what} iteration count ${iterations} is over the limit of ${MAX_ITERATIONS} (the fabric uses 2000)`, {
      context: { limit: 'iterations' },
    });
  }
  return iterations;
}
