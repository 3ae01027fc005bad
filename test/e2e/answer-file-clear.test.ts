/**
 * The AutoLogon password cleared from %WINDIR%\Panther\Unattend\unattend.xml once OOBE has used it, sandbox
 * platform against the simulator: the provisioning run makes sure SetupComplete.cmd calls `winprov
 * clear-answer-file` (writing winprov's when there is none, never touching the image's own), and that
 * command replaces the password as Setup does in its cached copy, under the run lock, saying what it did
 * without the password.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unzipSync, strFromU8 } from 'fflate';
import { provisioningFixture, type ProvisioningFixture } from '../helpers/provisioning.ts';
import { runCli } from '../helpers/cli.ts';
import { CLEARED_PASSWORD } from '../../src/answer-file-clear.ts';
import { setupCompleteProblems } from '../../src/cli/unattend-rules.ts';

const PASSWORD = 'Corr3ct-Horse-Battery!';
const AUTOLOGON_PASSWORD = 'Aut0-L0gon-Secret-c1ea2!';
const AUTOLOGON = `<AutoLogon><Password><Value>${AUTOLOGON_PASSWORD}</Value><PlainText>true</PlainText></Password><Enabled>true</Enabled><LogonCount>1</LogonCount><Username>azureuser</Username></AutoLogon>`;
const COMMANDS = '<FirstLogonCommands><SynchronousCommand wcm:action="add"><CommandLine>cmd /c echo first</CommandLine><Order>1</Order></SynchronousCommand></FirstLogonCommands>';
const REPO = new URL('../../', import.meta.url);

async function fixture(scenario: Record<string, unknown>): Promise<ProvisioningFixture> {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 0, ...scenario } });
  await fx.platform.installUnattend(await readFile(new URL('unattend/unattend.xml', REPO), 'utf8'));
  return fx;
}

const answerFile = (fx: ProvisioningFixture): string => join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml');
const setupComplete = (fx: ProvisioningFixture): string => join(fx.sandboxRoot, 'Windows', 'Setup', 'Scripts', 'SetupComplete.cmd');
const clear = (fx: ProvisioningFixture) => runCli(['clear-answer-file', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);

test('AutoLogon: the run writes a SetupComplete.cmd that clears the password; after OOBE the password is gone', async () => {
  const fx = await fixture({ autoLogonContent: AUTOLOGON, firstLogonCommandsContent: COMMANDS });
  try {
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    const script = await readFile(setupComplete(fx), 'latin1');
    assert.match(script, /^"%ProgramFiles%\\winprov\\winprov\.exe" clear-answer-file >>"%WINPROV_LOG%" 2>&1\r$/m);
    assert.match(script, /\r\nexit \/b 0\r\n$/);
    assert.ok(!/[^\r]\n/.test(script), 'CRLF only');
    assert.ok(result.state.applied.some((a) => a.what === 'setup-complete' && /clears the answer file's passwords after OOBE/.test(a.detail)));
    assert.match(result.state.steps.find((s) => s.name === 'unattend')?.detail ?? '', /^AutoLogon, FirstLogonCommands; its password to be cleared after OOBE by .*SetupComplete\.cmd \(written by this run\)$/);
    assert.equal(result.state.warnings, undefined);

    // What SetupComplete.cmd runs after OOBE.
    const merged = await readFile(answerFile(fx), 'utf8');
    assert.ok(merged.includes(AUTOLOGON_PASSWORD), 'OOBE still gets the password');
    const status = (args: string[] = []) => runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, ...args]);
    assert.match((await status()).out, /\n  answer file    .*unattend\.xml holds a password \(clear-answer-file removes them after OOBE\)\n/);
    // collect-logs' status.json says the same (and never holds the password: the secrets scan covers the zip).
    const zip = join(fx.root, 'logs.zip');
    assert.equal((await runCli(['collect-logs', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '-o', zip])).code, 0);
    const collected = JSON.parse(strFromU8(unzipSync(await readFile(zip))['status.json']!));
    assert.deepEqual(collected.answerFile, { path: answerFile(fx), passwords: 1 });
    // --dry-run only reads: not even the state folder or its log is written.
    const stateFiles = async () => Object.fromEntries(await Promise.all((await readdir(fx.platform.stateDirectory)).map(async (f) => [f, await readFile(join(fx.platform.stateDirectory, f), 'latin1')])));
    const stateBefore = await stateFiles();
    const dry = await runCli(['clear-answer-file', '--dry-run', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /would replace the password in .*unattend\.xml with \*SENSITIVE\*DATA\*DELETED\* \(--dry-run: nothing changed\)/);
    assert.equal(await readFile(answerFile(fx), 'utf8'), merged);
    assert.deepEqual(await stateFiles(), stateBefore);
    const cleared = await clear(fx);
    assert.equal(cleared.code, 0, cleared.err);
    assert.match(cleared.out, /the password in .*unattend\.xml replaced with \*SENSITIVE\*DATA\*DELETED\*/);
    const after = await readFile(answerFile(fx), 'utf8');
    assert.ok(!after.includes(AUTOLOGON_PASSWORD));
    assert.equal(after, merged.replace(/(<Password>)[^]*?(<\/Password>)/, `$1${CLEARED_PASSWORD}$2`), 'only the password changed');
    assert.equal((await fx.machine()).changes.filter((c) => c.verb === 'writeAnswerFile').length, 2);
    assert.deepEqual((await fx.machine()).acls['Windows/Panther/Unattend/unattend.xml'], ['SYSTEM', 'Administrators']);

    assert.match((await status()).out, /\n  answer file    .*unattend\.xml holds no password\n/);
    assert.deepEqual(JSON.parse((await status(['--json'])).out).answerFile, { path: answerFile(fx), passwords: 0 });

    // Run again (SetupComplete.cmd of a second boot, or by hand): nothing to clear, nothing written.
    const again = await clear(fx);
    assert.equal(again.code, 0);
    assert.match(again.out, /holds no password; nothing to clear/);
    assert.equal((await fx.machine()).changes.filter((c) => c.verb === 'writeAnswerFile').length, 2);

    // The password was never in what the command said or logged, nor in any file but the answer file before OOBE.
    assert.ok(!`${cleared.out}${cleared.err}${again.out}`.includes(AUTOLOGON_PASSWORD));
    for (const entry of await readdir(fx.sandboxRoot, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || entry.parentPath.includes(join('drives', 'D'))) continue;
      assert.ok(!(await readFile(join(entry.parentPath, entry.name), 'utf8')).includes(AUTOLOGON_PASSWORD), `${entry.name} holds the AutoLogon password`);
    }
  } finally {
    await fx.close();
  }
});

test('FirstLogonCommands only: no password, so no SetupComplete.cmd is written', async () => {
  const fx = await fixture({ firstLogonCommandsContent: COMMANDS });
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    await assert.rejects(readFile(setupComplete(fx)), { code: 'ENOENT' });
    assert.equal((await fx.machine()).changes.filter((c) => c.verb === 'arrangeAnswerFileClearing').length, 0);
  } finally {
    await fx.close();
  }
});

test('a run after OOBE (by hand, an earlier run having failed) writes no unattend content: no pass would read it, its password would stay', async () => {
  const fx = await fixture({ autoLogonContent: AUTOLOGON, firstLogonCommandsContent: COMMANDS });
  try {
    const template = await readFile(answerFile(fx), 'utf8');
    // What Setup writes once OOBE is over; UTF-16LE with its BOM, as Windows writes INI files too.
    await mkdir(join(fx.sandboxRoot, 'Windows', 'Setup', 'State'), { recursive: true });
    await writeFile(join(fx.sandboxRoot, 'Windows', 'Setup', 'State', 'State.ini'), Buffer.from('\ufeff[State]\r\nImageState=IMAGE_STATE_COMPLETE\r\n', 'utf16le'));
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    assert.equal(await readFile(answerFile(fx), 'utf8'), template, 'the answer file is as it was');
    await assert.rejects(readFile(setupComplete(fx)), { code: 'ENOENT' });
    assert.ok(!result.state.applied.some((a) => a.what === 'unattend' || a.what === 'setup-complete'));
    const warning = result.state.warnings?.find((w) => w.step === 'unattend')?.message ?? '';
    assert.match(warning, /^AutoLogon, FirstLogonCommands not written: Windows Setup has completed \(ImageState IMAGE_STATE_COMPLETE\)/);
    assert.ok(fx.lines.some((l) => /WARN AutoLogon, FirstLogonCommands not written/.test(l)));

    // During specialize Setup's state is another: the content is merged as before.
    const during = await fixture({ autoLogonContent: AUTOLOGON });
    try {
      await mkdir(join(during.sandboxRoot, 'Windows', 'Setup', 'State'), { recursive: true });
      await writeFile(join(during.sandboxRoot, 'Windows', 'Setup', 'State', 'State.ini'), '[State]\r\nImageState=IMAGE_STATE_UNDEPLOYABLE\r\n');
      assert.equal((await during.run()).outcome, 'ready');
      assert.ok((await readFile(answerFile(during), 'utf8')).includes(AUTOLOGON_PASSWORD));
    } finally {
      await during.close();
    }
  } finally {
    await fx.close();
  }
});

test('the image\'s own SetupComplete.cmd is left alone: the run is Ready with a warning naming the line to add', async () => {
  const fx = await fixture({ autoLogonContent: AUTOLOGON });
  try {
    await mkdir(join(fx.sandboxRoot, 'Windows', 'Setup', 'Scripts'), { recursive: true });
    const own = '@echo off\r\ncall C:\\build\\finish.cmd\r\n';
    await writeFile(setupComplete(fx), own);
    const result = await fx.run();
    assert.equal(result.outcome, 'ready');
    assert.equal(await readFile(setupComplete(fx), 'utf8'), own);
    const warning = result.state.warnings?.find((w) => w.step === 'unattend');
    assert.match(warning?.message ?? '', /the answer file keeps its password after OOBE: .*SetupComplete\.cmd is the image's own \(or an older winprov's\) and was left alone; add the line "%ProgramFiles%\\winprov\\winprov\.exe" clear-answer-file to it/);
    assert.ok(fx.lines.some((l) => /WARN the answer file keeps its password after OOBE/.test(l)));
    // `winprov status` names it, also after a re-run on the provisioned machine (which applies nothing).
    assert.equal((await fx.run()).alreadyProvisioned, true);
    const status = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.match(status.out, /\n  warnings\n    unattend +the answer file keeps its password after OOBE: .*clear-answer-file to it/);
    const json = JSON.parse((await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '--json'])).out);
    assert.deepEqual(json.warnings.map((w: { step: string }) => w.step), ['unattend']);
    // The image builder adds the line, or runs it by hand: the warning no longer holds, and goes.
    assert.equal((await clear(fx)).code, 0);
    const after = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.doesNotMatch(after.out, /warnings|keeps its password/);
    assert.match(after.out, /answer file    .*holds no password/);
  } finally {
    await fx.close();
  }
});

test('deferred mode: the shipped SetupComplete.cmd makes the call after provision, so the run changes nothing there', async () => {
  const fx = await fixture({ autoLogonContent: AUTOLOGON });
  try {
    const shipped = await readFile(new URL('unattend/SetupComplete.cmd', REPO), 'latin1');
    assert.deepEqual(setupCompleteProblems(shipped), []);
    await fx.platform.installSetupComplete(shipped);
    assert.equal((await fx.run({ phase: 'apply' })).outcome, 'applied');
    assert.equal(await readFile(setupComplete(fx), 'latin1'), shipped);
    // The SetupComplete run: provision (Ready), then clear-answer-file.
    assert.equal((await fx.run()).outcome, 'ready');
    assert.equal((await clear(fx)).code, 0);
    assert.ok(!(await readFile(answerFile(fx), 'utf8')).includes(AUTOLOGON_PASSWORD));
  } finally {
    await fx.close();
  }
});

test('clear-answer-file on an answer file that is not well-formed: a named error in the log, the file untouched', async () => {
  const fx = await fixture({});
  try {
    const broken = `<unattend xmlns="urn:schemas-microsoft-com:unattend"><Password>${AUTOLOGON_PASSWORD}</Password>`;
    await writeFile(answerFile(fx), broken);
    const result = await clear(fx);
    assert.notEqual(result.code, 0);
    assert.match(result.out, /ERROR clear-answer-file: STATE_INVALID: the answer file is not one winprov can clear/);
    assert.ok(!result.out.includes(AUTOLOGON_PASSWORD));
    assert.equal(await readFile(answerFile(fx), 'utf8'), broken);
    // status says so, without the file's text, and still answers.
    const status = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.match(status.out, /answer file    .*unattend\.xml unreadable: the answer file is not one winprov can clear/);
    assert.ok(!status.out.includes(AUTOLOGON_PASSWORD));
    // Bytes that are not UTF-8: refused, never written back with U+FFFD in their place.
    const latin1 = Buffer.concat([Buffer.from('<unattend xmlns="urn:schemas-microsoft-com:unattend"><!-- caf'), Buffer.from([0xe9]), Buffer.from(` --><Password>${AUTOLOGON_PASSWORD}</Password></unattend>`)]);
    await writeFile(answerFile(fx), latin1);
    const notUtf8 = await clear(fx);
    assert.notEqual(notUtf8.code, 0);
    assert.match(notUtf8.out, /STATE_INVALID: the answer file .*unattend\.xml is not valid UTF-8; winprov changes only a UTF-8 answer file/);
    assert.ok((await readFile(answerFile(fx))).equals(latin1));
    // Without an answer file: nothing to do.
    await rm(answerFile(fx));
    const none = await clear(fx);
    assert.equal(none.code, 0);
    assert.match(none.out, /there is no answer file at %WINDIR%\\Panther\\Unattend\\unattend\.xml; nothing to clear/);
  } finally {
    await fx.close();
  }
});
