/**
 * Order statistics for benchmark samples. Medians and the 90th percentile, not means: on a shared machine
 * a few runs land behind someone else's compile, and a mean would carry them into every comparison.
 */

/** Median, 90th percentile and range of one series of samples (milliseconds or megabytes). */
export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

/**
 * The q-quantile (0 <= q <= 1) with linear interpolation between the closest ranks (Hyndman & Fan
 * type 7, the default of R and numpy); NaN for no samples.
 */
export function quantile(samples: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be between 0 and 1, got ${q}`);
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/** The median (0.5-quantile). */
export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

/** The 90th percentile (0.9-quantile). */
export function p90(samples: readonly number[]): number {
  return quantile(samples, 0.9);
}

/** Median, p90, min and max of the samples; NaN fields for none. */
export function summarize(samples: readonly number[]): Summary {
  return {
    n: samples.length,
    median: median(samples),
    p90: p90(samples),
    min: samples.length === 0 ? Number.NaN : Math.min(...samples),
    max: samples.length === 0 ? Number.NaN : Math.max(...samples),
  };
}
