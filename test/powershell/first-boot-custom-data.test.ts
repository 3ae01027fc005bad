/**
 * The first-boot script through the Windows platform on pwsh with Windows emulated, custom data: the VM is
 * provisioned once (`provision --platform windows`) with custom data in ovf-env.xml, which the real
 * files.ps1 saves as C:\AzureData\CustomData.bin; `first-boot-script --platform windows` runs it as
 * SetupComplete.cmd does. The first case runs the file the provisioning run wrote; the others rewrite it
 * (a provisioning run per format would cost a PowerShell session each) and start from a VM without a
 * first-boot record. Also here: the switch off, and `both` (custom data, then user data from the IMDS
 * simulator on its own loopback port). User data: first-boot.test.ts; the helpers: first-boot-machine.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, win32 } from 'node:path';
import { readFirstBootRecord } from '../../src/first-boot/record.ts';
import { assertNotRun, assertRan, b64, firstBootMachine, NOT_A_SCRIPT, runCli, SCRIPT_FORMATS, type FirstBootMachine } from './first-boot-machine.ts';
import { powerShellTools } from './tools.ts';

const tools = powerShellTools();
const skip = 'skipped' in tools ? `PowerShell tier skipped: ${tools.skipped}` : false;

const PS1 = SCRIPT_FORMATS.find((f) => f.format === 'ps1')!;
const FROM_OVF_ENV = 'custom data from ovf-env';

describe('the first-boot script (custom data) through the Windows platform on pwsh with Windows emulated', { skip, timeout: 900_000 }, () => {
  let fb: FirstBootMachine | undefined;

  before(async () => {
    if ('skipped' in tools) return;
    fb = await firstBootMachine(tools.pwsh, { customData: PS1.text(FROM_OVF_ENV) });
  });
  after(async () => {
    await fb?.close();
  });

  it('the #ps1 custom data the provisioning run saved from ovf-env.xml runs once with PowerShell and is reported everywhere', async () => {
    const media = join(fb!.machine.dir, 'D');
    assert.ok(!(await readdir(media)).includes('CustomData.bin'), 'the media carries the custom data in ovf-env.xml only');
    const ovfEnv = await readFile(join(media, 'ovf-env.xml'), 'utf8');
    const encoded = /<CustomData>([A-Za-z0-9+/=]+)<\/CustomData>/.exec(ovfEnv)?.[1];
    assert.equal(Buffer.from(encoded ?? '', 'base64').toString('utf8'), PS1.text(FROM_OVF_ENV));
    assert.equal(await readFile(fb!.customDataPath, 'utf8'), PS1.text(FROM_OVF_ENV), 'CustomData.bin holds the decoded bytes');

    const run = await fb!.firstBoot({ firstBootScript: 'customData' });
    await assertRan(fb!, run, 'customData', PS1, FROM_OVF_ENV);
    assert.match(run.out, /first-boot script \(customData\): running ps1 with Windows PowerShell/);
    // Registered before the interpreter started, removed after: the task runs winprov.exe first-boot-script at startup, as SYSTEM.
    const taskCalls = (await fb!.machine.calls()).filter((c) => /^(Register|Unregister)-ScheduledTask$/.test(c.command));
    assert.deepEqual(taskCalls.map((c) => [c.command, c.bound['TaskPath'], c.bound['TaskName']]), [['Register-ScheduledTask', '\\winprov\\', 'first-boot-resume'], ['Unregister-ScheduledTask', '\\winprov\\', 'first-boot-resume']]);
    const action = (await fb!.machine.calls()).find((c) => c.command === 'New-ScheduledTaskAction');
    assert.deepEqual([action?.bound['Execute'], action?.bound['Argument']], [win32.join(fb!.env['ProgramFiles'] ?? 'C:\\Program Files', 'winprov', 'winprov.exe'), 'first-boot-script'], 'winprov.exe where the MSI puts it, as SetupComplete.cmd starts it');

    const again = await fb!.firstBoot({ firstBootScript: 'customData' }, { keepRecord: true });
    assert.equal(again.result.code, 0, again.out);
    assert.match(again.out, /first-boot script \(customData\): already done on this VM \(succeeded\); not run again/);
    assert.deepEqual(again.record, run.record, 'the record is as the first run left it');
    assert.deepEqual([again.events, again.cmdRuns], [[], []]);

    const status = await runCli(['status', '--platform', 'windows', '--json', '--config', fb!.config], fb!.env);
    assert.equal(status.code, 0, status.stderr);
    const report = JSON.parse(status.stdout) as { firstBootScript: { mode: string; scripts: { source: string; outcome: string }[] } };
    assert.equal(report.firstBootScript.mode, 'customData');
    assert.deepEqual(report.firstBootScript.scripts.map((s) => `${s.source}:${s.outcome}`), ['customData:succeeded']);
  });

  for (const format of SCRIPT_FORMATS.filter((f) => f !== PS1)) {
    it(`custom data in the ${format.name} format runs with ${format.interpreter === 'cmd' ? 'cmd.exe' : 'PowerShell'} and is reported everywhere`, async () => {
      await writeFile(fb!.customDataPath, format.text(`custom data ${format.format}`));
      const run = await fb!.firstBoot({ firstBootScript: 'customData' });
      await assertRan(fb!, run, 'customData', format, `custom data ${format.format}`);
    });
  }

  it('custom data that is not a recognised script is not run, and the record says why', async () => {
    await writeFile(fb!.customDataPath, NOT_A_SCRIPT);
    const run = await fb!.firstBoot({ firstBootScript: 'customData' });
    await assertNotRun(fb!, run, 'customData', /^not a script winprov runs: its first line is not #ps1, #ps1_sysnative, #cmd or rem cmd, and it holds no <powershell> block$/);
    assert.equal(run.events.filter((e) => e.startsWith('first-boot script customData: not-run, not a script')).length, 1, run.events.join('\n'));
  });

  it('the switch off: nothing runs, nothing is written, the output says so once', async () => {
    const marker = join(fb!.machine.dir, 'ran.txt');
    await writeFile(fb!.customDataPath, `#ps1\nSet-Content -LiteralPath '${marker}' -Value 'ran'\n`);
    const log = join(fb!.stateDir, 'winprov.log');
    // As the helper leaves it: an earlier case's record and output logs removed.
    const before = { log: (await stat(log)).size, files: (await readdir(fb!.stateDir)).filter((f) => f !== 'first-boot.json' && !/^first-boot-\w+\.log/.test(f)) };
    // Off by the setting, and by default (no setting), which the environment cannot change.
    for (const [settings, env] of [[{ firstBootScript: 'off' }, {}], [{}, { WINPROV_FIRST_BOOT_SCRIPT: 'customData' }]] as const) {
      const run = await fb!.firstBoot(settings, { imds: { userData: b64('#ps1\nWrite-Output "never"\n') }, env });
      assert.equal(run.result.code, 0, run.out);
      assert.equal(run.out.match(/first-boot script: off/g)?.length, 1, run.out);
      assert.equal(run.record, undefined, 'no first-boot.json');
      assert.deepEqual([run.kvp, run.events, run.cmdRuns, run.calls, run.imds!.requests.length], [undefined, [], [], 0, 0], 'no KVP value, event, cmd.exe, PowerShell call or IMDS request');
    }
    assert.equal(await readFile(marker, 'utf8').catch(() => 'absent'), 'absent', 'the script did not run');
    assert.deepEqual(await readdir(fb!.stateDir), before.files, 'no record, output log or script file');
    assert.equal((await stat(log)).size, before.log, 'not even the log file is touched');
  });

  it('both: custom data then user data, each in its own format, each once', async () => {
    const cmd = SCRIPT_FORMATS.find((f) => f.format === 'rem-cmd')!;
    const tag = SCRIPT_FORMATS.find((f) => f.format === 'powershell-tag')!;
    await writeFile(fb!.customDataPath, cmd.text('custom data first'));
    const run = await fb!.firstBoot({ firstBootScript: 'both' }, { imds: { userData: b64(tag.text('user data second')) } });
    await assertRan(fb!, run, 'customData', cmd, 'custom data first');
    await assertRan(fb!, run, 'userData', tag, 'user data second');
    assert.deepEqual(run.record?.scripts.map((s) => s.source), ['customData', 'userData']);
    const [custom, user] = run.record.scripts;
    assert.ok(custom!.finishedAt! <= user!.startedAt!, `custom data ended (${custom!.finishedAt}) before user data started (${user!.startedAt})`);
    assert.match(run.kvp ?? '', /source=customData\|outcome=succeeded\|.*;source=userData\|outcome=succeeded\|/);
    assert.equal(run.cmdRuns.length, 1);
    assert.equal(run.imds!.requests.length, 1);

    const again = await fb!.firstBoot({ firstBootScript: 'both' }, { imds: { userData: b64(tag.text('user data second')) }, keepRecord: true });
    assert.equal(again.out.match(/already done on this VM \(succeeded\); not run again/g)?.length, 2, again.out);
    assert.deepEqual([again.cmdRuns, again.events, again.imds!.requests.length], [[], [], 0]);
    assert.deepEqual(await readFirstBootRecord(fb!.stateDir), run.record);
  });
});
