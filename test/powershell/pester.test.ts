/**
 * The Pester tests of the Windows scripts (test/powershell/pester/*.Tests.ps1), run on the emulated
 * Windows in one pwsh process; their counts are printed as a diagnostic.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { powerShellTools, runPwsh } from './tools.ts';

const tools = powerShellTools();
const MARKER = 'PESTER-RESULT ';
/** At least this many tests must pass: a file that stops being discovered fails the run. */
const MIN_PASSED = 123;

it('Pester tests of the Windows scripts pass on the emulated Windows', { skip: 'skipped' in tools ? `PowerShell tier skipped: ${tools.skipped}` : false, timeout: 600_000 }, async (t) => {
  if ('skipped' in tools) return;
  const script = [
    `$ErrorActionPreference = 'Stop'`,
    `Import-Module -Name '${tools.pester.replaceAll("'", "''")}'`,
    `$configuration = New-PesterConfiguration`,
    `$configuration.Run.Path = 'test/powershell/pester'`,
    `$configuration.Run.PassThru = $true`,
    `$configuration.Output.Verbosity = 'None'`,
    `$result = Invoke-Pester -Configuration $configuration`,
    `$failures = @($result.Failed | ForEach-Object { @{ name = $_.ExpandedPath; error = [string]$_.ErrorRecord } })`,
    `'${MARKER}' + (ConvertTo-Json -InputObject @{ passed = $result.PassedCount; failed = $result.FailedCount; skipped = $result.SkippedCount; files = @($result.Containers).Count; failures = $failures } -Compress -Depth 5)`,
  ].join('\n');
  const run = await runPwsh(tools.pwsh, ['-Command', script], { timeoutMs: 600_000 });
  const line = run.stdout.split('\n').find((l) => l.startsWith(MARKER));
  assert.ok(line, `Pester printed no result (exit ${run.code}):\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-4000)}`);
  const result = JSON.parse(line.slice(MARKER.length)) as { passed: number; failed: number; skipped: number; files: number; failures: { name: string; error: string }[] };
  t.diagnostic(`Pester: ${result.passed} passed, ${result.failed} failed in ${result.files} files`);
  assert.deepEqual(result.failures, []);
  assert.equal(result.failed, 0);
  assert.ok(result.passed >= MIN_PASSED, `only ${result.passed} Pester tests passed, expected at least ${MIN_PASSED}`);
});
