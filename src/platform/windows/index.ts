/** The Windows platform: WindowsPlatform and the runner seam its tests use. */
export { WindowsPlatform, type WindowsPlatformOptions } from './windows-platform.ts';
export { execaRunner, type CommandRunner, type Session, type SessionEvents, type SessionExit } from './exec.ts';
