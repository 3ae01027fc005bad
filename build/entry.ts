import { runMain } from '../src/main.ts';

// The bundle's entry: src/main.ts runs itself only as an ES module's main (import.meta.main, which the
// bundler defines as false), so the one call is here.
runMain();
