/** Where a command writes: stdout and stderr as functions, so tests can capture both. */
export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Aborted on SIGINT/SIGTERM, for long-running commands (simulate). */
  signal: AbortSignal;
}
