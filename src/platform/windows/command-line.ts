/**
 * The one command line winprov starts PowerShell with. It holds fixed switches and the static bootstrap
 * script, never a value: process-creation auditing (event 4688) records command lines.
 */

/** Windows PowerShell 5.1 under the given SystemRoot ("C:\\Windows"). */
export function powershellPath(systemRoot: string): string {
  // System32, not Sysnative: the shipped node.exe is 64-bit. A 32-bit process would be redirected to
  // SysWOW64, whose PowerShell lacks the LocalAccounts module.
  return `${systemRoot.replace(/[\\/]+$/, '')}\\System32\\WindowsPowerShell\\v1.0\\powershell.exe`;
}

/**
 * The arguments. -InputFormat None: with the default (Text) the console host reads stdin on a thread
 * of its own to feed $input and would swallow requests meant for the bootstrap (Executor.cs reads
 * stdin after InvokeAsync; DataFormat.None "discards" input). -EncodedCommand takes UTF-16LE base64.
 */
export function powershellArgs(bootstrap: string): string[] {
  return [
    '-NoLogo',
    '-NoProfile',
    '-NonInteractive',
    '-ExecutionPolicy',
    'Bypass',
    '-InputFormat',
    'None',
    '-OutputFormat',
    'Text',
    '-EncodedCommand',
    Buffer.from(bootstrap, 'utf16le').toString('base64'),
  ];
}
