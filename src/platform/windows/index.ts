/** The Windows platform: WindowsPlatform and the runner seam its tests use. */
export { WindowsPlatform, type WindowsPlatformOptions } from './windows-platform.ts';
export { processRunner, type CommandRunner, type Session, type SessionEvents, type SessionExit } from './exec.ts';
