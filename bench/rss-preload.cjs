// Loaded with `node --require bench/rss-preload.cjs ...` into a measured process. At exit it writes the
// process's peak resident set size (getrusage ru_maxrss, kilobytes on Linux) to the file named by
// WINPROV_BENCH_RSS_FILE. The kernel keeps the high-water mark, so nothing is sampled and no peak is
// missed; the cost is loading this file (measured by the benchmark as node -e 0 with and without it).
// After the number, the agent's code cache status as its loader left it (build/code-cache-loader.ts:
// used, absent, mismatch, rejected, off), or none outside the bundle.
'use strict';
const target = process.env.WINPROV_BENCH_RSS_FILE;
if (target) {
  process.on('exit', () => {
    const cache = globalThis[Symbol.for('winprov.codeCache')];
    require('node:fs').writeFileSync(target, `${process.resourceUsage().maxRSS} ${cache ? cache.status : 'none'}`);
  });
}
