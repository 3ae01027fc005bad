import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MACHINE_AMD64, PE32_PLUS_MAGIC, SEA_RESOURCE, containsUtf16, readPeHeaders, seaFuseState } from './pe.ts';
import { BUNDLE, LINUX_EXE, ROOT, SEA_BLOB, UNATTEND, WINDOWS_EXE, gitCommit, readPackage, versionLineProblem } from './project.ts';
import { UNATTEND_FILES, UPGRADE_CODE, VERSION_MAX_INCLUSIVE, msiPath, readMsiTable, removeFromImageProblems } from './msi.ts';
import { runTool } from './run.ts';
import { codeCacheProblems } from './code-cache-check.ts';
import { loaderStartFlags, programFileOf } from './code-cache-loader.ts';
import { firstBootProblems } from './first-boot-check.ts';
import { setupCompleteProblems, unattendProblems } from '../src/cli/unattend-rules.ts';

/**
 * `npm run check:build`: checks the built artifacts (after build, build:exe and build:msi) by reading them,
 * and runs what can run here: the bundle and the Linux executable, including the whole demo against the
 * fabric simulator. Windows is not needed; winprov.exe is checked byte by byte.
 */

interface Check {
  name: string;
  run: () => string[] | Promise<string[]>;
}

/** What every artifact must report: package.json's version, the pinned Node, and the checkout's commit. */
interface Expected {
  version: string;
  nodeVersion: string;
  commit: string;
}

/** node runs the bundle with the V8 flags winprov.exe has from its execArgv, as the benchmark does. */
function bundleFlags(): string[] {
  return loaderStartFlags(readFileSync(BUNDLE, 'latin1'));
}

/** Why `<command> --version` is not the expected line, if it is not. */
function versionProblems(command: string, args: readonly string[], expected: Expected): string[] {
  const result = runTool(command, [...args, '--version'], { timeoutMs: 30_000 });
  if (result.status !== 0) return [`exited with ${result.status}: ${result.stderr.trim()}`];
  const problem = versionLineProblem(result.stdout, expected);
  return problem === undefined ? [] : [problem];
}

function checks(expected: Expected): Check[] {
  const { version } = expected;
  return [
    {
      // The loader refuses a program file of another build, so this also checks that the two belong together.
      name: 'dist/winprov.cjs (with dist/winprov.cjs.program) --version',
      run: () => versionProblems(process.execPath, [BUNDLE], expected),
    },
    {
      name: 'dist/winprov.exe is a PE32+ x86-64 SEA carrying the bundle (its loader and its program)',
      run: () => {
        const exe = readFileSync(WINDOWS_EXE);
        const headers = readPeHeaders(exe);
        const problems: string[] = [];
        if (headers.machine !== MACHINE_AMD64) problems.push(`machine is 0x${headers.machine.toString(16)}, not 0x8664 (x86-64)`);
        if (headers.optionalMagic !== PE32_PLUS_MAGIC) problems.push(`optional header magic is 0x${headers.optionalMagic.toString(16)}, not 0x20b (PE32+)`);
        if (headers.subsystem !== 3) problems.push(`subsystem is ${headers.subsystem}, not 3 (console)`);
        if (headers.certificateTableSize !== 0) problems.push('still carries an Authenticode signature, which no longer matches the injected file');
        const fuse = seaFuseState(exe);
        if (fuse !== 'injected') problems.push(`SEA fuse is ${fuse}, not flipped to :1`);
        if (!containsUtf16(exe, SEA_RESOURCE)) problems.push(`no ${SEA_RESOURCE} resource name (UTF-16)`);
        if (exe.indexOf(readFileSync(SEA_BLOB)) === -1) problems.push(`does not contain ${relative(ROOT, SEA_BLOB)}`);
        for (const file of [BUNDLE, programFileOf(BUNDLE)]) if (exe.indexOf(readFileSync(file)) === -1) problems.push(`does not contain the current ${relative(ROOT, file)}`);
        return problems;
      },
    },
    {
      // No winprov-linux-x64.program beside it: the executable runs its program from its asset.
      name: 'dist/winprov-linux-x64 --version',
      run: () => [...(seaFuseState(readFileSync(LINUX_EXE)) === 'injected' ? [] : ['SEA fuse not flipped to :1']), ...versionProblems(LINUX_EXE, [], expected)],
    },
    {
      name: 'dist/winprov-linux-x64 demo (simulator + sandbox)',
      run: () => {
        const result = runTool(LINUX_EXE, ['demo'], { timeoutMs: 120_000 });
        const problems: string[] = [];
        if (result.status !== 0) problems.push(`exited with ${result.status}: ${`${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-8).join(' | ')}`);
        else if (!/^Provisioned in \d+ ms/m.test(result.stdout) || !/^\s+Ready\b/m.test(result.stdout)) problems.push('the summary does not show "Provisioned in ... ms" and a Ready report');
        return problems;
      },
    },
    {
      name: 'dist/winprov.cjs with its code cache, a corrupt one, one V8 refuses and the installer\'s empty one (each run reaches Ready)',
      run: () => codeCacheProblems({ command: process.execPath, args: [...bundleFlags(), BUNDLE] }),
    },
    {
      name: 'dist/winprov-linux-x64 with its code cache, a corrupt one, one V8 refuses and the installer\'s empty one (each run reaches Ready)',
      run: () => codeCacheProblems({ command: LINUX_EXE, args: [] }),
    },
    {
      name: 'dist/winprov.cjs first-boot-script on the sandbox (custom data #ps1, user data past its timeout)',
      run: () => firstBootProblems({ command: process.execPath, args: [...bundleFlags(), BUNDLE] }),
    },
    {
      name: 'dist/winprov-linux-x64 first-boot-script on the sandbox (its fake interpreter is the executable itself)',
      run: () => firstBootProblems({ command: LINUX_EXE, args: [] }),
    },
    {
      name: `dist/winprov-${version}-x64.msi tables`,
      run: () => {
        const msi = msiPath(version);
        if (!existsSync(msi)) return [`${relative(ROOT, msi)} is missing: run "npm run build:msi"`];
        const problems: string[] = [];
        const files = new Map(readMsiTable(msi, 'File').map((row) => [row['FileName']!.split('|').at(-1)!, row]));
        const exeRow = files.get('winprov.exe');
        if (!exeRow) problems.push('File table: no winprov.exe');
        else if (Number(exeRow['FileSize']) !== statSync(WINDOWS_EXE).size) problems.push('File table: winprov.exe is not the size of dist/winprov.exe (a stale MSI?)');
        for (const name of UNATTEND_FILES) if (!files.has(name)) problems.push(`File table: no ${name}`);
        const placeholder = files.get('winprov.exe.codecache');
        if (placeholder?.['FileSize'] !== '0') problems.push('File table: no empty winprov.exe.codecache (the placeholder that makes uninstalling remove the code cache)');
        const properties = new Map(readMsiTable(msi, 'Property').map((row) => [row['Property'], row['Value']]));
        if (properties.get('ProductVersion') !== version) problems.push(`ProductVersion is ${properties.get('ProductVersion')}, not ${version}`);
        if (properties.get('UpgradeCode') !== `{${UPGRADE_CODE}}`) problems.push(`UpgradeCode is ${properties.get('UpgradeCode')}, not the stable {${UPGRADE_CODE}}`);
        if (properties.get('ALLUSERS') !== '1') problems.push('ALLUSERS is not 1 (per-machine)');
        const installDir = readMsiTable(msi, 'Directory').find((row) => row['Directory'] === 'INSTALLDIR');
        if (installDir?.['Directory_Parent'] !== 'ProgramFiles64Folder' || installDir['DefaultDir'] !== 'winprov') problems.push('INSTALLDIR is not [ProgramFiles64Folder]winprov');
        const upgrade = readMsiTable(msi, 'Upgrade').find((row) => row['ActionProperty'] === 'WIX_UPGRADE_DETECTED');
        if (upgrade === undefined) problems.push('Upgrade table: no major-upgrade row');
        else if ((Number(upgrade['Attributes']) & VERSION_MAX_INCLUSIVE) === 0) problems.push('Upgrade table: the major-upgrade row leaves out the same version (a rebuild would install beside the old one)');
        const messageFile = readMsiTable(msi, 'Registry').find((row) => row['Key'] === 'SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\winprov' && row['Name'] === 'EventMessageFile');
        if (!messageFile?.['Value']?.startsWith('#%%SystemRoot%\\Microsoft.NET\\Framework64\\')) problems.push('Registry table: no REG_EXPAND_SZ EventMessageFile for the winprov Event Log source');
        problems.push(...removeFromImageProblems(readMsiTable(msi, 'CustomAction'), readMsiTable(msi, 'InstallExecuteSequence')));
        return problems;
      },
    },
    {
      name: 'unattend templates and SetupComplete.cmd',
      run: () => [
        ...unattendProblems(readFileSync(join(UNATTEND, 'unattend.xml'), 'utf8'), { winprovArguments: 'provision' }).map((p) => `unattend.xml: ${p}`),
        ...unattendProblems(readFileSync(join(UNATTEND, 'unattend-deferred.xml'), 'utf8'), { winprovArguments: 'provision --defer-ready' }).map((p) => `unattend-deferred.xml: ${p}`),
        ...setupCompleteProblems(readFileSync(join(UNATTEND, 'SetupComplete.cmd'), 'latin1')).map((p) => `SetupComplete.cmd: ${p}`),
      ],
    },
  ];
}

async function main(): Promise<void> {
  // Artifacts built from another commit than the checkout's are stale: they must report this one.
  const expected = { ...readPackage(), commit: gitCommit() };
  const list = checks(expected);
  let failed = 0;
  console.log(`winprov build checks (${expected.version}, Node ${expected.nodeVersion}, commit ${expected.commit})`);
  for (const check of list) {
    const started = performance.now();
    let problems: string[];
    try {
      problems = await check.run();
    } catch (err) {
      problems = [err instanceof Error ? err.message : String(err)];
    }
    const ms = Math.round(performance.now() - started);
    console.log(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${check.name} (${ms} ms)`);
    for (const problem of problems) console.log(`       ${problem}`);
    if (problems.length > 0) failed += 1;
  }
  console.log(failed === 0 ? 'all build checks passed' : `${failed} of ${list.length} build checks failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

if (import.meta.main) await main();
