import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withImage } from '../helpers/image.ts';
import { FIRST_BOOT_RESUME_TASK } from '../../src/platform/first-boot-types.ts';
import { installTemplates } from '../helpers/install-templates.ts';
import { snapshotTree } from '../helpers/tree.ts';
import type { SandboxMachine } from '../../src/platform/sandbox/machine.ts';
import type { SandboxImage } from '../../src/platform/sandbox/image.ts';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

test('prepare-image --dry-run lists what it would do and changes nothing', async () => {
  await withImage({ scenario: { customData: 'payload' }, provisioned: true }, async ({ fx, cli }) => {
    const before = await fx.machine();
    const tree = await snapshotTree(fx.sandboxRoot);
    const { code, out } = await cli('prepare-image', '--dry-run');
    assert.equal(code, 0);
    assert.ok(out.split('\n').includes(`would remove ${join(fx.platform.stateDirectory, 'state.json')}`), out);
    assert.ok(out.split('\n').includes(`would remove ${fx.platform.stateDirectory}`), out);
    assert.match(out, /would remove .*AzureData\/CustomData.bin/);
    assert.match(out, /would set RdAgent to Disabled \(now Automatic\)/);
    assert.match(out, /would install .*unattend.xml as %WINDIR%\\Panther\\Unattend\\unattend.xml/);
    assert.match(out, /sysprep.exe \/generalize \/oobe \/mode:vm \/shutdown \/unattend:"%WINDIR%\\Panther\\Unattend\\unattend.xml"/);
    assert.deepEqual(await fx.machine(), before);
    assert.deepEqual(await snapshotTree(fx.sandboxRoot), tree, 'not a byte changed');
    assert.equal(await exists(join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml')), false);
    assert.ok(await exists(join(fx.platform.stateDirectory, 'state.json')));
  });
});

test('prepare-image removes state, marker, ovf copy, custom data and logs, and disables the guest agent', async () => {
  await withImage({ scenario: { customData: 'payload' }, provisioned: true }, async ({ fx, cli }) => {
    // A first-boot startup task still registered on the build VM.
    await fx.editMachine((m) => void (m.scheduledTasks = [{ name: FIRST_BOOT_RESUME_TASK, command: 'winprov.exe first-boot-script', trigger: 'AtStartup', user: 'SYSTEM' }]));
    const { code, out } = await cli('prepare-image');
    assert.equal(code, 0, out);
    assert.ok(out.split('\n').includes(`remove the first-boot script's startup task ${FIRST_BOOT_RESUME_TASK}`), out);
    const answerFile = join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml');
    assert.equal(await readFile(answerFile, 'utf8'), await readFile(new URL('../../unattend/unattend.xml', import.meta.url), 'utf8'));
    assert.ok(out.includes(`/unattend:"${answerFile}"`));
    assert.equal(await exists(fx.platform.stateDirectory), false);
    assert.equal(await exists(join(fx.sandboxRoot, 'SystemDrive', 'AzureData', 'CustomData.bin')), false);
    const machine = await fx.machine();
    assert.ok(machine.services.every((s) => s.startMode === 'Disabled'));
    assert.deepEqual(machine.scheduledTasks, [], 'no first-boot startup task goes into the image');
    // The image provisions the next VM afresh: a new run applies again.
    const again = await fx.run();
    assert.equal(again.outcome, 'ready');
    assert.equal(again.alreadyProvisioned, false);
  });
});

test('prepare-image --defer-ready installs SetupComplete.cmd and names the deferred template', async () => {
  await withImage({}, async ({ fx, cli }) => {
    const { code, out } = await cli('prepare-image', '--defer-ready');
    assert.equal(code, 0, out);
    const installed = await readFile(join(fx.sandboxRoot, 'Windows', 'Setup', 'Scripts', 'SetupComplete.cmd'), 'utf8');
    assert.match(installed, /winprov.exe" provision/);
    assert.match(out, /unattend-deferred.xml/);
    const answerFile = await readFile(join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml'), 'utf8');
    assert.match(answerFile, /provision --defer-ready/);
  });
});

test('prepare-image without the installed templates fails clearly, before it changes anything', async () => {
  await withImage({ scenario: { provisionGuestAgent: true }, provisioned: true, templates: false }, async ({ fx, cli }) => {
    const before = await fx.machine();
    const plain = await cli('prepare-image');
    assert.equal(plain.code, 5);
    assert.match(plain.err, /unattend.xml is missing; reinstall winprov/);
    assert.notEqual(await fx.platform.readAgentState(), undefined, 'the state folder is still there');
    assert.deepEqual((await fx.machine()).services, before.services, 'the guest agent services are as they were');
    const { code, err } = await cli('prepare-image', '--defer-ready');
    assert.equal(code, 5);
    assert.match(err, /SetupComplete.cmd is missing; reinstall winprov/);
  });
});

test('an image builder\'s edit of winprov\'s SetupComplete.cmd survives a second prepare-image, as a backup it is told of', async () => {
  await withImage({}, async ({ fx, cli }) => {
    const args = ['prepare-image', '--defer-ready'];
    assert.equal((await cli(...args)).code, 0);
    const installed = join(fx.sandboxRoot, 'Windows', 'Setup', 'Scripts', 'SetupComplete.cmd');
    const edited = `${await readFile(installed, 'latin1')}call C:\\build\\mine.cmd\r\n`;
    await writeFile(installed, edited);
    assert.equal((await cli(...args)).code, 0);
    assert.equal(await readFile(`${installed}.winprov-backup`, 'latin1'), edited);
    assert.ok((await fx.machine()).changes.some((c) => /was winprov's of another version, or edited: it is kept as/.test(c.detail)));
  });
});

test('prepare-image removes only winprov\'s files from the state folder, names each, and keeps the image builder\'s with the folder', async () => {
  await withImage({ scenario: { customData: 'payload' }, provisioned: true }, async ({ fx, cli }) => {
    const state = fx.platform.stateDirectory;
    await writeFile(join(state, 'builder-notes.txt'), 'mine');
    await writeFile(join(state, 'winprov.log.1'), 'an older log');
    const before = await snapshotTree(fx.sandboxRoot);
    const dry = await cli('prepare-image', '--dry-run');
    assert.equal(dry.code, 0, dry.err);
    for (const name of ['ovf-env.xml', 'provisioned.json', 'state.json', 'winprov.log', 'winprov.log.1']) {
      assert.ok(dry.out.split('\n').includes(`would remove ${join(state, name)}`), `${name} in:\n${dry.out}`);
    }
    assert.ok(dry.out.split('\n').includes(`would keep builder-notes.txt in ${state}: not winprov's (the folder stays)`), dry.out);
    assert.ok(!dry.out.split('\n').includes(`would remove ${state}`), dry.out);
    assert.deepEqual(await snapshotTree(fx.sandboxRoot), before, 'the dry run changed nothing');

    const { code, out, err } = await cli('prepare-image');
    assert.equal(code, 0, err);
    assert.ok(out.split('\n').includes(`keep builder-notes.txt in ${state}: not winprov's (the folder stays)`), out);
    assert.deepEqual(await readdir(state), ['builder-notes.txt']);
    assert.equal(await readFile(join(state, 'builder-notes.txt'), 'utf8'), 'mine');
  });
});

test('every file a provisioning, first-boot and clear-answer-file run leave in the state folder is one prepare-image knows as winprov\'s', async () => {
  await withImage({ scenario: { customData: '#ps1\nWrite-Output "hello"\n' }, provisioned: true, templates: false }, async ({ fx, cli }) => {
    const settings = join(fx.root, 'winprov.json');
    await writeFile(settings, JSON.stringify({ firstBootScript: 'customData' }));
    assert.equal((await cli('first-boot-script', '--config', settings)).code, 0);
    assert.equal((await cli('clear-answer-file')).code, 0);
    const written = await readdir(fx.platform.stateDirectory);
    for (const name of ['state.json', 'provisioned.json', 'ovf-env.xml', 'winprov.log', 'first-boot.json', 'first-boot-customData.log']) assert.ok(written.includes(name), `${name} in ${written.join(', ')}`);
    assert.deepEqual((await fx.platform.listAgentArtifacts()).others, []);
    await installTemplates(fx.platform.installDirectory);
    const { code, out, err } = await cli('prepare-image');
    assert.equal(code, 0, err);
    assert.ok(out.split('\n').includes(`remove ${fx.platform.stateDirectory}`), out);
    assert.equal(await exists(fx.platform.stateDirectory), false);
  });
});

test('an answer file of the image builder\'s is kept as unattend.xml.winprov-backup (.2 ...) and named, in the dry run too; winprov\'s own templates are replaced without one', async () => {
  await withImage({}, async ({ fx, cli: winprov }) => {
    const folder = join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend');
    const answerFile = join(folder, 'unattend.xml');
    const own = '<?xml version="1.0"?>\r\n<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup"><UserAccounts><AdministratorPassword><Value>Build-Pa55</Value><PlainText>true</PlainText></AdministratorPassword></UserAccounts></component></settings></unattend>\r\n';
    await mkdir(folder, { recursive: true });
    await writeFile(answerFile, own);
    const cli = (...extra: string[]) => winprov('prepare-image', ...extra);

    const tree = await snapshotTree(fx.sandboxRoot);
    const dry = await cli('--dry-run');
    assert.equal(dry.code, 0, dry.err);
    assert.ok(dry.out.split('\n').includes(`would keep the answer file there (not winprov's template) as ${answerFile}.winprov-backup; it holds 1 password(s) in plain text: delete it before capture unless the image needs it`), dry.out);
    assert.deepEqual(await snapshotTree(fx.sandboxRoot), tree, 'the dry run changed nothing');

    const { code, out, err } = await cli();
    assert.equal(code, 0, err);
    assert.match(out, /^keep the answer file there \(not winprov's template\) as .*unattend\.xml\.winprov-backup; it holds 1 password/m);
    assert.equal(await readFile(`${answerFile}.winprov-backup`, 'utf8'), own);
    assert.equal(await readFile(answerFile, 'utf8'), await readFile(join(fx.platform.installDirectory, 'unattend.xml'), 'utf8'));

    // winprov's own, of either mode: replaced, no backup, nothing said.
    for (const extra of [['--defer-ready'], []]) {
      const again = await cli(...extra);
      assert.equal(again.code, 0, again.err);
      assert.doesNotMatch(again.out, /keep the answer file/);
    }
    assert.deepEqual((await readdir(folder)).sort(), ['unattend.xml', 'unattend.xml.winprov-backup']);

    // Another one, or winprov's edited: the next free name; the same one again: the backup it already has.
    const edited = (await readFile(answerFile, 'utf8')).replace('</unattend>', '<!-- edited --></unattend>');
    for (let i = 0; i < 2; i += 1) {
      await writeFile(answerFile, edited);
      const next = await cli();
      assert.equal(next.code, 0, next.err);
      assert.ok(next.out.split('\n').includes(`keep the answer file there (not winprov's template) as ${answerFile}.winprov-backup.2`), next.out);
    }
    assert.equal(await readFile(`${answerFile}.winprov-backup.2`, 'utf8'), edited);
    assert.deepEqual((await readdir(folder)).sort(), ['unattend.xml', 'unattend.xml.winprov-backup', 'unattend.xml.winprov-backup.2']);
  });
});

test('a winprov running from another folder than the one the templates name refuses to prepare the image, the dry run too, before any change', async () => {
  await withImage({ scenario: { customData: 'payload' }, provisioned: true }, async ({ fx, cli }) => {
    const installed = join(fx.sandboxRoot, 'ProgramFiles', 'winprov', 'winprov.exe');
    await fx.editMachine((m) => void ((m as SandboxMachine & { image?: SandboxImage }).image = { executablePath: 'D:\\Tools\\winprov\\winprov.exe' }));
    const tree = await snapshotTree(fx.sandboxRoot);
    for (const extra of [[], ['--dry-run'], ['--defer-ready']]) {
      const { code, out, err } = await cli('prepare-image', ...extra);
      assert.equal(code, 5, err);
      assert.ok(err.includes(`this winprov runs from D:\\Tools\\winprov\\winprov.exe, but the answer file and SetupComplete.cmd start %ProgramFiles%\\winprov\\winprov.exe (`), err);
      assert.match(err, /no VM made from this image would run winprov \(install the MSI to its default folder/);
      assert.equal(out, '');
    }
    assert.deepEqual(await snapshotTree(fx.sandboxRoot), tree, 'nothing changed');
    // The same file, named in other case: Windows' paths are case-insensitive.
    await fx.editMachine((m) => void ((m as SandboxMachine & { image?: SandboxImage }).image = { executablePath: installed.replace('ProgramFiles/winprov/winprov.exe', 'PROGRAMFILES/WinProv/WINPROV.EXE') }));
    assert.equal((await cli('prepare-image')).code, 0);
  });
});
