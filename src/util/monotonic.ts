/**
 * Milliseconds on a monotonic clock, for durations only. process.hrtime is part of Node's bootstrap;
 * `performance` (global or node:perf_hooks) loads Node's perf_hooks modules on first use, about 1 ms
 * of every run that only times its steps and requests (issue 13).
 */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1_000 + nanoseconds / 1_000_000;
}
