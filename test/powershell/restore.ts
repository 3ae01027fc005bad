/**
 * The PowerShell tier's tools, restored by the project itself before `node --test` runs (npm test):
 * - PowerShell 7.6.10, the .NET tool pinned in .config/dotnet-tools.json (`dotnet tool restore`);
 * - Pester 5.7.1 from NuGet, pinned in test/powershell/restore/powershell-tools.csproj, restored into
 *   .scratch/nuget (`dotnet restore`), never a global module install.
 * It writes .scratch/powershell/tools.json, which the tier's tests read. Without the .NET SDK it says so
 * loudly and the tier's tests are skipped (npm test still passes); with WINPROV_REQUIRE_POWERSHELL=1
 * (.ci/run sets it) a missing tool fails the run instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PESTER_VERSION, POWERSHELL_VERSION, TOOLS_FILE, type ToolsRecord } from './tools.ts';

const root = join(import.meta.dirname, '..', '..');
const required = process.env.WINPROV_REQUIRE_POWERSHELL === '1';
// The dotnet CLI leaves an empty folder in the temporary directory at every call: a folder of our own,
// removed at the end, keeps the machine's clean (as tools.ts runPwsh does for every pwsh).
const scratch = mkdtempSync(join(tmpdir(), 'winprov-restore-'));

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000, env: { ...process.env, TMPDIR: scratch, TMP: scratch, TEMP: scratch } });
}

function find(): ToolsRecord {
  try {
    run('dotnet', ['--version']);
  } catch {
    return { skipped: 'the .NET SDK (dotnet) is not on PATH' };
  }
  try {
    run('dotnet', ['tool', 'restore']);
  } catch (err) {
    return { skipped: `dotnet tool restore failed: ${String((err as { stderr?: string }).stderr ?? err).trim().slice(0, 400)}` };
  }
  try {
    run('dotnet', ['restore', 'test/powershell/restore/powershell-tools.csproj', '--packages', '.scratch/nuget']);
  } catch (err) {
    return { skipped: `dotnet restore of Pester failed: ${String((err as { stdout?: string }).stdout ?? err).trim().slice(0, 400)}` };
  }
  const globalPackages = /global-packages:\s*(.+)/.exec(run('dotnet', ['nuget', 'locals', 'global-packages', '--list']))?.[1]?.trim();
  if (globalPackages === undefined) return { skipped: 'dotnet nuget locals did not name the global packages folder' };
  const toolsDir = join(globalPackages, 'powershell', POWERSHELL_VERSION, 'tools');
  const framework = existsSync(toolsDir) ? readdirSync(toolsDir).find((d) => d.startsWith('net')) : undefined;
  const pwsh = framework === undefined ? undefined : join(toolsDir, framework, 'any', 'unix', 'pwsh');
  if (pwsh === undefined || !existsSync(pwsh)) return { skipped: `pwsh ${POWERSHELL_VERSION} was restored but is not under ${toolsDir}` };
  const pester = join(root, '.scratch', 'nuget', 'pester', PESTER_VERSION, 'tools', 'Pester.psd1');
  if (!existsSync(pester)) return { skipped: `Pester ${PESTER_VERSION} was restored but ${pester} is missing` };
  let version: string;
  try {
    version = run(pwsh, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', '$PSVersionTable.PSVersion.ToString()']).trim();
  } catch (err) {
    return { skipped: `${pwsh} does not start: ${String(err).slice(0, 300)}` };
  }
  if (version !== POWERSHELL_VERSION) return { skipped: `${pwsh} is PowerShell ${version}, not ${POWERSHELL_VERSION}` };
  return { pwsh, pester };
}

let record: ToolsRecord;
try {
  record = find();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
mkdirSync(join(root, '.scratch', 'powershell'), { recursive: true });
writeFileSync(join(root, TOOLS_FILE), JSON.stringify(record, null, 2) + '\n');
if ('skipped' in record) {
  const banner = '!'.repeat(100);
  console.error(`${banner}\nPOWERSHELL TIER SKIPPED: ${record.skipped}.\nThe Windows scripts will NOT be parsed, checked against Windows PowerShell 5.1, run by Pester or run end to end.\nInstall the .NET SDK (dotnet 10) and run npm test again; it restores PowerShell ${POWERSHELL_VERSION} and Pester ${PESTER_VERSION} itself.\n${banner}`);
  if (required) {
    console.error('WINPROV_REQUIRE_POWERSHELL=1: the PowerShell tier must run here.');
    process.exit(1);
  }
} else {
  console.log(`PowerShell tier: pwsh ${POWERSHELL_VERSION} (${record.pwsh}), Pester ${PESTER_VERSION}`);
}
