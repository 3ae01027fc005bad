/**
 * Windows PowerShell 5.1 compatibility of the shipped scripts, checked on PowerShell 7 without Windows:
 * compat/Test-WindowsPowerShell51.ps1 parses every script and checks its commands, parameters, syntax
 * and the documented 5.1-vs-7 differences (compat/README.md) against the 5.1 command profile. The
 * fixtures in test/fixtures/powershell-compat/ each break one rule, so a check that reports nothing
 * fails here too. One pwsh process checks a whole folder.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { powerShellTools, REPO_ROOT, runPwsh } from './tools.ts';

type Finding = { file: string; line: number; column: number; rule: string; message: string; source?: string };
type Report = {
  scripts: string[];
  counts: { scripts: number; commands: number; parameters: number };
  parseErrors: { file: string; line: number; column: number; message: string }[];
  findings: Finding[];
  unchecked: { file: string; line: number; column: number; command: string; splat: string }[];
};
type Difference = { id: string; source: string };

const SCRIPTS = join('src', 'platform', 'windows', 'scripts');
const FIXTURES = join('test', 'fixtures', 'powershell-compat');
const CHECK = join('test', 'powershell', 'compat', 'Test-WindowsPowerShell51.ps1');
const DIFFERENCES = join('test', 'powershell', 'compat', 'differences.json');
const PROFILE = join('test', 'powershell', 'profile', 'commands.json');
/** Rules of the check itself; the others are the ids of differences.json. */
const CHECK_RULES = [
  'parse-error', 'unknown-command', 'unknown-parameter', 'ambiguous-parameter', 'parameter-set', 'parameter-value',
  'syntax-ternary', 'syntax-pipeline-chain', 'syntax-null-coalescing', 'syntax-null-conditional', 'syntax-clean-block',
  'syntax-background-operator', 'syntax-replace-scriptblock', 'syntax-escape', 'syntax-number-literal', 'cdxml-error-action',
];
/** The fixture of correct 5.1 edge cases: no finding, one splat the check cannot resolve. */
const CORRECT_FIXTURE = 'no-finding.ps1';

const tools = powerShellTools();
const reports = new Map<string, Promise<{ code: number | null; report: Report }>>();

/** pwsh, or undefined after skipping the test loudly. */
function pwshOrSkip(t: TestContext): string | undefined {
  if ('pwsh' in tools) return tools.pwsh;
  console.error(`\n*** PowerShell tier SKIPPED: ${tools.skipped} ***\n`);
  t.skip(tools.skipped);
  return undefined;
}

function check(pwsh: string, folder: string): Promise<{ code: number | null; report: Report }> {
  let pending = reports.get(folder);
  if (pending === undefined) {
    pending = runPwsh(pwsh, ['-File', CHECK, '-Profile', PROFILE, '-Differences', DIFFERENCES, '-Path', folder], { timeoutMs: 120_000 }).then(({ code, stdout, stderr }) => {
      assert.ok(stdout.trim().startsWith('{'), `the check printed no report (exit ${code}): ${stderr}`);
      return { code, report: JSON.parse(stdout) as Report };
    });
    reports.set(folder, pending);
  }
  return pending;
}

function ps1Files(folder: string): string[] {
  return readdirSync(join(REPO_ROOT, folder)).filter((name) => name.endsWith('.ps1')).sort();
}

function describe(report: Report): string {
  const lines = [
    ...report.parseErrors.map((e) => `${e.file}:${e.line}:${e.column} parse-error ${e.message}`),
    ...report.findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.rule} ${f.message}${f.source === undefined ? '' : ` (${f.source})`}`),
  ];
  return lines.join('\n');
}

test('every shipped PowerShell script parses', async (t) => {
  const pwsh = pwshOrSkip(t);
  if (pwsh === undefined) return;
  // The fixtures are a separate library: their check runs in a second process meanwhile.
  check(pwsh, FIXTURES).catch(() => undefined);
  const expected = ps1Files(SCRIPTS);
  assert.ok(expected.length > 10, `only ${expected.length} scripts in ${SCRIPTS}`);
  const { report } = await check(pwsh, SCRIPTS);
  assert.deepEqual([...report.scripts].sort(), expected, 'the check read every script of the folder');
  assert.equal(report.parseErrors.length, 0, describe(report));
  t.diagnostic(`parsed ${report.scripts.length} scripts, ${report.parseErrors.length} errors`);
});

test('the shipped scripts use only Windows PowerShell 5.1 commands, parameters and syntax', async (t) => {
  const pwsh = pwshOrSkip(t);
  if (pwsh === undefined) return;
  const { code, report } = await check(pwsh, SCRIPTS);
  assert.equal(report.findings.length, 0, describe(report));
  assert.equal(code, 0);
  const { scripts, commands, parameters } = report.counts;
  assert.ok(commands > 0 && parameters > 0, 'the check saw the commands of the scripts');
  t.diagnostic(`checked ${scripts} scripts: ${commands} commands, ${parameters} parameters, 0 findings`);
  for (const splat of report.unchecked) t.diagnostic(`unchecked splat ${splat.splat} of ${splat.command} at ${splat.file}:${splat.line}`);
});

test('the check reports exactly the rule each deliberately wrong fixture breaks', async (t) => {
  const pwsh = pwshOrSkip(t);
  if (pwsh === undefined) return;
  const differences = (JSON.parse(readFileSync(join(REPO_ROOT, DIFFERENCES), 'utf8')) as { differences: Difference[] }).differences;
  const fixtures = ps1Files(FIXTURES);
  const rules = [...CHECK_RULES, ...differences.map((d) => d.id)];
  assert.deepEqual(fixtures.filter((name) => name !== CORRECT_FIXTURE).map((name) => name.slice(0, -'.ps1'.length)).sort(), [...rules].sort(), 'one fixture per rule');

  const { code, report } = await check(pwsh, FIXTURES);
  assert.equal(code, 1, 'the check fails on the fixtures');
  for (const fixture of fixtures) {
    const reported = new Set([
      ...report.findings.filter((f) => f.file === fixture).map((f) => f.rule),
      ...report.parseErrors.filter((e) => e.file === fixture).map(() => 'parse-error'),
    ]);
    const expected = fixture === CORRECT_FIXTURE ? [] : [fixture.slice(0, -'.ps1'.length)];
    assert.deepEqual([...reported], expected, `${fixture}:\n${describe({ ...report, parseErrors: report.parseErrors.filter((e) => e.file === fixture), findings: report.findings.filter((f) => f.file === fixture) })}`);
  }
  for (const finding of report.findings) {
    const difference = differences.find((d) => d.id === finding.rule);
    if (difference !== undefined) assert.equal(finding.source, difference.source, `${finding.rule} cites its source`);
  }
  assert.deepEqual(report.unchecked.map((u) => `${u.file} ${u.command} ${u.splat}`), [`${CORRECT_FIXTURE} Get-Service @PSBoundParameters`]);
  t.diagnostic(`${fixtures.length - 1} fixtures, each reported with its own rule only; ${CORRECT_FIXTURE} with none`);
});
