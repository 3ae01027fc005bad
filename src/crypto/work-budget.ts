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

export interface WorkBudgetOptions {
  /** Derivation rounds the step may spend (WORK_BUDGET). */
  work?: number;
  /** Absolute end of the run (ms epoch); none by default. */
  deadline?: number;
}

/** One budget for one certificates step: derivation rounds and the run's deadline. */
export class WorkBudget {
  readonly limit: number;
  readonly deadline: number;
  #used = 0;

  constructor(options: WorkBudgetOptions = {}) {
    this.limit = options.work ?? WORK_BUDGET;
    this.deadline = options.deadline ?? Number.POSITIVE_INFINITY;
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
