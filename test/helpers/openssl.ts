import { execFileSync } from 'node:child_process';

/** Whether the openssl command is on this machine (interop tests use it when it is, and say so when not). */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
