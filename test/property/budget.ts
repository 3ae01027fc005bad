/**
 * How many generated inputs each property runs: a fixed seed and a small budget in `npm test`, a long run
 * with `npm run fuzz` (WINPROV_FUZZ_RUNS), and the seed printed so any failure can be replayed
 * (WINPROV_FUZZ_SEED).
 */
export const FUZZ_RUNS = Number(process.env.WINPROV_FUZZ_RUNS ?? '300');
export const FUZZ_SEED = Number(process.env.WINPROV_FUZZ_SEED ?? '20261206');

/** fast-check parameters for one property: `fc.assert(property, fuzzParameters(1))` (weight scales the budget). */
export function fuzzParameters(weight = 1): { numRuns: number; seed: number; endOnFailure: boolean } {
  return { numRuns: Math.max(1, Math.round(FUZZ_RUNS * weight)), seed: FUZZ_SEED, endOnFailure: true };
}
