/**
 * Milliseconds on a monotonic clock, for durations only. process.hrtime is part of Node's bootstrap;
 * `performance` (global or node:perf_hooks) loads Node's perf_hooks modules on first use: about 1 ms of
 * every run that only times its steps and requests, and on a run that first uses it after the loader has
 * changed V8's flags, 2-3 ms, compiled from source (issue 13). No module on the provision path uses it
 * (test/build/module-graph.test.ts).
 */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1_000 + nanoseconds / 1_000_000;
}

/** The wall clock at monotonicMs() zero, read once (Date.now() has millisecond steps). */
const EPOCH_AT_ZERO = Date.now() - monotonicMs();

/**
 * Wall-clock milliseconds with a fraction, moving as the monotonic clock does: another process on the same
 * machine (the benchmark) can place a run's events beside its own clock, to about a millisecond.
 */
export function epochMs(): number {
  return EPOCH_AT_ZERO + monotonicMs();
}
