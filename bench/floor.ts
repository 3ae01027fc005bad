/**
 * The floor: the least time any agent needs to reach an acknowledged Ready on this machine, built from
 * parts measured in the same benchmark run. Node start-up + the fabric round trips (a minimal raw-HTTP
 * client making the agent's requests) + one RSA-2048 key generation + decrypting the certificates. The
 * agent may beat a part (it overlaps key generation with the network steps), so a ratio under 1 is possible.
 */

/** The measured parts of the floor for one row (medians, milliseconds). */
export interface FloorParts {
  nodeStartupMs: number;
  fabricRoundTripsMs: number;
  /** 0 for a row without certificates: a minimal agent needs no transport key then. */
  keyGenerationMs: number;
  /** CMS envelope decryption + PKCS#12 read; 0 without certificates. */
  decryptMs: number;
  /** The Windows path: `pwsh -NoProfile -NonInteractive -Command exit` (absent for the sandbox). */
  powershellStartupMs?: number;
}

/** The sum of the parts. */
export function floorMs(parts: FloorParts): number {
  return parts.nodeStartupMs + (parts.powershellStartupMs ?? 0) + parts.fabricRoundTripsMs + parts.keyGenerationMs + parts.decryptMs;
}

/** The floor parts of a row: the key generation and decryption count only when the row has certificates. */
export function rowFloorParts(certificates: number, measured: FloorParts): FloorParts {
  return certificates > 0 ? { ...measured } : { ...measured, keyGenerationMs: 0, decryptMs: 0 };
}

/** time / floor; NaN when the floor is not a positive number. */
export function ratio(timeMs: number, floor: number): number {
  return floor > 0 ? timeMs / floor : Number.NaN;
}

/** One point of a series: a count (certificates) and the time measured for it. */
export interface CountPoint {
  count: number;
  ms: number;
}

/** The cost of each added unit between consecutive points (sorted by count): ms per certificate. */
export interface Slope {
  from: number;
  to: number;
  msPerUnit: number;
}

/** The marginal cost per unit between each pair of consecutive counts. */
export function slopes(points: readonly CountPoint[]): Slope[] {
  const sorted = [...points].sort((a, b) => a.count - b.count);
  const out: Slope[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.count === a.count) continue;
    out.push({ from: a.count, to: b.count, msPerUnit: (b.ms - a.ms) / (b.count - a.count) });
  }
  return out;
}

/**
 * Whether time grows no faster than linearly: the per-unit cost of the last (largest) step is at most
 * `tolerance` times that of the first step, plus `slackMs` per unit for noise. Linear growth keeps the
 * cost per certificate flat (or falling, as fixed costs amortize); a quadratic one makes each later
 * certificate dearer than the earlier ones.
 */
export function growsLinearly(points: readonly CountPoint[], tolerance = 1.5, slackMs = 1): { linear: boolean; firstMsPerUnit: number; lastMsPerUnit: number } {
  const steps = slopes(points);
  const first = steps[0];
  const last = steps.at(-1);
  if (first === undefined || last === undefined) return { linear: true, firstMsPerUnit: 0, lastMsPerUnit: 0 };
  const limit = Math.max(first.msPerUnit, 0) * tolerance + slackMs;
  return { linear: last.msPerUnit <= limit, firstMsPerUnit: first.msPerUnit, lastMsPerUnit: last.msPerUnit };
}
