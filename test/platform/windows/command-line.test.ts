import { test } from 'node:test';
import assert from 'node:assert/strict';
import { powershellArgs, powershellPath } from '../../../src/platform/windows/command-line.ts';

test('powershell.exe is found under the SystemRoot given, with or without a trailing separator', () => {
  assert.equal(powershellPath('C:\\Windows'), 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
  assert.equal(powershellPath('D:\\WINNT\\'), 'D:\\WINNT\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
});

test('the arguments are fixed switches and the script as UTF-16LE base64', () => {
  const script = "Set-StrictMode -Version 3.0\n'é ü 名'";
  const args = powershellArgs(script);
  assert.deepEqual(args.slice(0, -1), ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-InputFormat', 'None', '-OutputFormat', 'Text', '-EncodedCommand']);
  assert.equal(Buffer.from(args.at(-1)!, 'base64').toString('utf16le'), script);
  assert.match(args.at(-1)!, /^[A-Za-z0-9+/]+=*$/, 'nothing a command line could split or quote');
});

test('the real bootstrap fits the 32,767-character Windows command line with room to spare', async () => {
  const { BOOTSTRAP_SCRIPT, loadScript } = await import('../../../src/platform/windows/scripts.ts');
  const script = loadScript(BOOTSTRAP_SCRIPT);
  const args = powershellArgs(script);
  // CreateProcess's lpCommandLine holds at most 32,767 characters including the quoted executable path.
  const commandLine = [`"${powershellPath('C:\\Windows')}"`, ...args].join(' ');
  assert.ok(commandLine.length < 16_000, `${commandLine.length} characters: the bootstrap must stay small, the library travels on stdin`);
  assert.equal(args.at(-1)!.length, Math.ceil((script.length * 2) / 3) * 4, 'UTF-16LE base64 is 8/3 characters per script character');
});
