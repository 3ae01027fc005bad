import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withImage } from '../helpers/image.ts';
import { snapshotTree } from '../helpers/tree.ts';
import { clearOnlySetupComplete, toBatchText } from '../../src/platform/windows/setup-complete.ts';

/** prepare-image --first-boot-script: the switch into the install folder's winprov.json, and the SetupComplete call. */

const setupComplete = (root: string) => join(root, 'Windows', 'Setup', 'Scripts', 'SetupComplete.cmd');

test('Ready at the end of specialize: winprov.json gets the switch, SetupComplete.cmd clears the answer file, then makes the first-boot call', async () => {
  await withImage({}, async ({ fx, cli }) => {
    await writeFile(join(fx.platform.installDirectory, 'winprov.json'), JSON.stringify({ serial: 'COM1' }));
    const { code, out } = await cli('prepare-image', '--first-boot-script', 'userdata');
    assert.equal(code, 0, out);
    assert.deepEqual(JSON.parse(await readFile(join(fx.platform.installDirectory, 'winprov.json'), 'utf8')), { serial: 'COM1', firstBootScript: 'userData' });
    const script = await readFile(setupComplete(fx.sandboxRoot), 'latin1');
    assert.match(script, /^rem winprov/m);
    assert.match(script, /winprov\.exe" first-boot-script >>"%WINPROV_LOG%" 2>&1\r\n/);
    assert.doesNotMatch(script, /winprov\.exe" provision/);
    const clear = script.indexOf('winprov.exe" clear-answer-file >>');
    assert.ok(clear > 0 && clear < script.indexOf('winprov.exe" first-boot-script >>'), 'the password gone before the VM\'s script runs');
    assert.match(script, /\r\nexit \/b 0\r\n$/);
  });
});

test('deferred Ready: SetupComplete.cmd reports Ready first, then makes the first-boot call', async () => {
  await withImage({}, async ({ fx, cli }) => {
    const { code, out } = await cli('prepare-image', '--defer-ready', '--first-boot-script', 'both');
    assert.equal(code, 0, out);
    const script = await readFile(setupComplete(fx.sandboxRoot), 'latin1');
    const provision = script.indexOf('winprov.exe" provision');
    const firstBoot = script.indexOf('winprov.exe" first-boot-script');
    assert.ok(provision > 0 && firstBoot > provision, 'provision (Ready) before the first-boot script');
    assert.ok(script.indexOf(':done') < firstBoot, 'after the guest agent services, whatever provision returned');
    const clear = script.indexOf('winprov.exe" clear-answer-file >>');
    assert.ok(script.indexOf(':done') < clear && clear < firstBoot, 'the answer file cleared whatever provision returned, before the VM\'s script runs');
  });
});

test('the switch off (the default): prepare-image installs no SetupComplete.cmd of its own', async () => {
  await withImage({}, async ({ fx, cli }) => {
    const { code, out } = await cli('prepare-image');
    assert.equal(code, 0, out);
    await assert.rejects(readFile(setupComplete(fx.sandboxRoot)), { code: 'ENOENT' });
    const bad = await cli('prepare-image', '--first-boot-script', 'always');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /first-boot-script.*must be one of off, customData, userData, both/);
  });
});

test('back to the default mode: winprov\'s deferred SetupComplete.cmd gives way to the clearing call only; the image\'s own and edited ones are left alone', async () => {
  await withImage({}, async ({ fx, cli: winprov }) => {
    const cli = (...args: string[]) => winprov('prepare-image', ...args);
    const folder = join(fx.sandboxRoot, 'Windows', 'Setup', 'Scripts');
    assert.equal((await cli('--defer-ready')).code, 0);
    const deferred = await readFile(setupComplete(fx.sandboxRoot), 'latin1');
    assert.match(deferred, /winprov\.exe" provision/);

    const dry = await cli('--dry-run');
    assert.equal(dry.code, 0, dry.out);
    assert.match(dry.out, /would replace winprov's SetupComplete\.cmd of another mode with the one that only clears the answer file's passwords/);
    assert.equal(await readFile(setupComplete(fx.sandboxRoot), 'latin1'), deferred);

    const { code, out } = await cli();
    assert.equal(code, 0, out);
    const script = await readFile(setupComplete(fx.sandboxRoot), 'latin1');
    assert.equal(script, toBatchText(clearOnlySetupComplete()).toString('latin1'));
    assert.doesNotMatch(script, /winprov\.exe" provision/, 'the default mode reports Ready in specialize only');
    // Again: nothing to change.
    assert.doesNotMatch((await cli()).out, /SetupComplete/);
    // Switching modes back and forth replaces winprov's own unedited scripts: no backups pile up.
    for (const args of [['--first-boot-script', 'both'], ['--first-boot-script', 'off'], ['--defer-ready'], []]) assert.equal((await cli(...args)).code, 0);
    assert.deepEqual(await readdir(folder), ['SetupComplete.cmd']);

    // An edited winprov script: named, left as it is.
    const edited = deferred.replace(':done\r\n', ':done\r\ncall C:\\build\\mine.cmd\r\n');
    await writeFile(setupComplete(fx.sandboxRoot), edited);
    const note = await cli();
    assert.match(note.out, /note: .*SetupComplete\.cmd is winprov's of another version, or edited; left as it is/);
    assert.equal(await readFile(setupComplete(fx.sandboxRoot), 'latin1'), edited);

    // The image builder's own script, even one that makes the clearing call under a remark naming winprov.
    const own = '@echo off\r\ncall C:\\build\\finish.cmd\r\nrem winprov clear-answer-file, as winprov asked\r\n"%ProgramFiles%\\winprov\\winprov.exe" clear-answer-file\r\n';
    await writeFile(setupComplete(fx.sandboxRoot), own);
    const quiet = await cli();
    assert.equal(quiet.code, 0);
    assert.doesNotMatch(quiet.out, /SetupComplete/);
    assert.equal(await readFile(setupComplete(fx.sandboxRoot), 'latin1'), own);
    assert.deepEqual(await readdir(folder), ['SetupComplete.cmd']);
  });
});

test('a winprov.json with a byte-order mark (Windows PowerShell 5.1\'s Set-Content -Encoding UTF8) gets the switch, its settings kept', async () => {
  await withImage({}, async ({ fx, cli }) => {
    const settings = join(fx.platform.installDirectory, 'winprov.json');
    await writeFile(settings, '\uFEFF{ "deadline": "15m" }\r\n');
    const { code, out, err } = await cli('prepare-image', '--first-boot-script', 'customData');
    assert.equal(code, 0, err);
    assert.ok(out.split('\n').includes(`set "firstBootScript": "customData" in ${settings}`), out);
    assert.deepEqual(JSON.parse(await readFile(settings, 'utf8')), { deadline: '15m', firstBootScript: 'customData' });
  });
});

test('a winprov.json prepare-image cannot write the switch into stops it (exit 2) before its first change, the dry run too', async () => {
  await withImage({ scenario: { customData: 'payload' }, provisioned: true }, async ({ fx, cli }) => {
    const settings = join(fx.platform.installDirectory, 'winprov.json');
    for (const [text, error] of [['{ "deadline": "15m", ', /winprov\.json is not valid JSON/], ['{ "firstBootScrip": "off" }', /configuration firstBootScrip: is not a known setting/], ['\uFEFF[]', /must hold a JSON object/]] as const) {
      await writeFile(settings, text);
      const tree = await snapshotTree(fx.sandboxRoot);
      for (const extra of [[], ['--dry-run']]) {
        const { code, out, err } = await cli('prepare-image', '--first-boot-script', 'customData', ...extra);
        assert.equal(code, 2, err);
        assert.match(err, error);
        assert.equal(out, '', 'nothing was done, so nothing is said');
      }
      assert.deepEqual(await snapshotTree(fx.sandboxRoot), tree, 'the machine is as it was');
    }
  });
});

test('a shipped SetupComplete.cmd the first-boot call cannot be added to stops prepare-image before its first change', async () => {
  await withImage({ scenario: { customData: 'payload' }, provisioned: true }, async ({ fx, cli }) => {
    await writeFile(join(fx.platform.installDirectory, 'SetupComplete.cmd'), '@echo off\r\nrem winprov, edited\r\nexit /b 0\r\n');
    const tree = await snapshotTree(fx.sandboxRoot);
    const { code, err } = await cli('prepare-image', '--defer-ready', '--first-boot-script', 'both');
    assert.equal(code, 5, err);
    assert.match(err, /SetupComplete\.cmd has no ":done" label/);
    assert.doesNotMatch(err, /prepare-image stopped/);
    assert.deepEqual(await snapshotTree(fx.sandboxRoot), tree);
  });
});
