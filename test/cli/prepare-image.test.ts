import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { provisioningFixture } from '../helpers/provisioning.ts';
import { runCli } from '../helpers/cli.ts';
import { installTemplates } from '../helpers/install-templates.ts';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

test('prepare-image --dry-run lists what it would do and changes nothing', async () => {
  const fx = await provisioningFixture({ scenario: { customData: 'payload' } });
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    await installTemplates(fx.platform.installDirectory);
    const before = await fx.machine();
    const { code, out } = await runCli(['prepare-image', '--dry-run', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(code, 0);
    assert.match(out, /would remove .*ProgramData\/winprov/);
    assert.match(out, /would remove .*AzureData\/CustomData.bin/);
    assert.match(out, /would set RdAgent to Disabled \(now Automatic\)/);
    assert.match(out, /would install .*unattend.xml as %WINDIR%\\Panther\\Unattend\\unattend.xml/);
    assert.match(out, /sysprep.exe \/generalize \/oobe \/mode:vm \/shutdown \/unattend:"%WINDIR%\\Panther\\Unattend\\unattend.xml"/);
    assert.deepEqual(await fx.machine(), before);
    assert.equal(await exists(join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml')), false);
    assert.ok(await exists(join(fx.platform.stateDirectory, 'state.json')));
  } finally {
    await fx.close();
  }
});

test('prepare-image removes state, marker, ovf copy, custom data and logs, and disables the guest agent', async () => {
  const fx = await provisioningFixture({ scenario: { customData: 'payload' } });
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    await installTemplates(fx.platform.installDirectory);
    const { code, out } = await runCli(['prepare-image', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(code, 0, out);
    const answerFile = join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml');
    assert.equal(await readFile(answerFile, 'utf8'), await readFile(new URL('../../unattend/unattend.xml', import.meta.url), 'utf8'));
    assert.ok(out.includes(`/unattend:"${answerFile}"`));
    assert.equal(await exists(fx.platform.stateDirectory), false);
    assert.equal(await exists(join(fx.sandboxRoot, 'SystemDrive', 'AzureData', 'CustomData.bin')), false);
    const machine = await fx.machine();
    assert.ok(machine.services.every((s) => s.startMode === 'Disabled'));
    // The image provisions the next VM afresh: a new run applies again.
    const again = await fx.run();
    assert.equal(again.outcome, 'ready');
    assert.equal(again.alreadyProvisioned, false);
  } finally {
    await fx.close();
  }
});

test('prepare-image --defer-ready installs SetupComplete.cmd and names the deferred template', async () => {
  const fx = await provisioningFixture();
  try {
    await installTemplates(fx.platform.installDirectory);
    const { code, out } = await runCli(['prepare-image', '--defer-ready', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(code, 0, out);
    const installed = await readFile(join(fx.sandboxRoot, 'Windows', 'Setup', 'Scripts', 'SetupComplete.cmd'), 'utf8');
    assert.match(installed, /winprov.exe" provision/);
    assert.match(out, /unattend-deferred.xml/);
    const answerFile = await readFile(join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml'), 'utf8');
    assert.match(answerFile, /provision --defer-ready/);
  } finally {
    await fx.close();
  }
});

test('prepare-image without the installed templates fails clearly, before it changes anything', async () => {
  const fx = await provisioningFixture({ scenario: { provisionGuestAgent: true } });
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    const before = await fx.machine();
    const plain = await runCli(['prepare-image', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(plain.code, 5);
    assert.match(plain.err, /unattend.xml is missing; reinstall winprov/);
    assert.notEqual(await fx.platform.readAgentState(), undefined, 'the state folder is still there');
    assert.deepEqual((await fx.machine()).services, before.services, 'the guest agent services are as they were');
    const { code, err } = await runCli(['prepare-image', '--defer-ready', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(code, 5);
    assert.match(err, /SetupComplete.cmd is missing; reinstall winprov/);
  } finally {
    await fx.close();
  }
});

test('an image builder\'s edit of winprov\'s SetupComplete.cmd survives a second prepare-image, as a backup it is told of', async () => {
  const fx = await provisioningFixture();
  try {
    await installTemplates(fx.platform.installDirectory);
    const args = ['prepare-image', '--defer-ready', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot];
    assert.equal((await runCli(args)).code, 0);
    const installed = join(fx.sandboxRoot, 'Windows', 'Setup', 'Scripts', 'SetupComplete.cmd');
    const edited = `${await readFile(installed, 'latin1')}call C:\\build\\mine.cmd\r\n`;
    await writeFile(installed, edited);
    assert.equal((await runCli(args)).code, 0);
    assert.equal(await readFile(`${installed}.winprov-backup`, 'latin1'), edited);
    assert.ok((await fx.machine()).changes.some((c) => /was winprov's of another version, or edited: it is kept as/.test(c.detail)));
  } finally {
    await fx.close();
  }
});
