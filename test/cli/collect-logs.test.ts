import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { unzipSync, strFromU8 } from 'fflate';
import { provisioningFixture } from '../helpers/provisioning.ts';
import { runCli } from '../helpers/cli.ts';
import { EXIT_CODES } from '../../src/errors.ts';

const PASSWORD = 'Zq-collect-LOGS-9876';

test('collect-logs writes a zip with logs, journal, status, redacted ovf-env and the Windows equivalents', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, customData: 'custom-data-marker-4321' } });
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    const panther = join(fx.sandboxRoot, 'Windows', 'Panther');
    await mkdir(join(panther, 'UnattendGC'), { recursive: true });
    await writeFile(join(panther, 'setupact.log'), `Info [Shell Unattend] Running 'specialize' pass\nInfo <AdminPassword>${PASSWORD}</AdminPassword>\n`);
    await writeFile(join(panther, 'UnattendGC', 'setupact.log'), 'Info [Shell Unattend] OOBE pass\n');
    const output = join(fx.root, 'logs.zip');
    const { code, out } = await runCli(['collect-logs', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '-o', output]);
    assert.equal(code, 0, out);
    const entries = unzipSync(new Uint8Array(await readFile(output)));
    assert.deepEqual(Object.keys(entries).sort(), [
      'status.json',
      'windows/Panther/UnattendGC/setupact.log',
      'windows/Panther/setupact.log',
      'windows/changes.txt',
      'windows/events-winprov.txt',
      'windows/registry.txt',
      'winprov/ovf-env.xml',
      'winprov/provisioned.json',
      'winprov/state.json',
      'winprov/winprov.log',
    ]);
    const text = (name: string) => strFromU8(entries[name]!);
    assert.equal(JSON.parse(text('status.json')).status, 'provisioned');
    assert.equal(JSON.parse(text('winprov/state.json')).result, 'ready');
    assert.match(text('winprov/winprov.log'), /"message":"< ready ok in \d+ ms/);
    assert.match(text('winprov/ovf-env.xml'), /AdminPassword>\[redacted\]</);
    assert.match(text('windows/Panther/setupact.log'), /Running 'specialize' pass/);
    assert.match(text('windows/events-winprov.txt'), /winprov 1001 success/);
    for (const name of Object.keys(entries)) {
      assert.doesNotMatch(text(name), new RegExp(PASSWORD), `${name} holds the password`);
      assert.doesNotMatch(text(name), /custom-data-marker-4321/, `${name} holds the custom data`);
    }
  } finally {
    await fx.close();
  }
});

test('a damaged state.json: status and its timeline say so in one line, never hang, and collect-logs still writes its zip', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD } });
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    const statePath = join(fx.platform.stateDirectory, 'state.json');
    const good = JSON.parse(await readFile(statePath, 'utf8'));
    for (const [damage, why] of [
      [{ ...good, startedAt: 'garbage' }, /startedAt: must be a date/],
      [{ ...good, steps: [null] }, /steps\[0\]: must be an object/],
      [{ ...good, steps: [{ ...good.steps[0], name: 7 }] }, /steps\[0\]: must be an object with a name/],
      [{ ...good, steps: Array.from({ length: 200_000 }, () => good.steps[0]) }, /steps: must have at most 10000 entries/],
    ] as const) {
      await writeFile(statePath, JSON.stringify(damage));
      const status = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '--timeline']);
      assert.notEqual(status.code, 0);
      assert.match(status.err, why);
      assert.doesNotMatch(status.out + status.err, /\n\s+at /, 'no stack trace');
      const output = join(fx.root, 'damaged.zip');
      const collected = await runCli(['collect-logs', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '-o', output]);
      assert.equal(collected.code, 0, collected.out + collected.err);
      const entries = unzipSync(new Uint8Array(await readFile(output)));
      assert.match(JSON.parse(strFromU8(entries['status.json']!)).error, why);
      assert.ok(entries['winprov/winprov.log'] !== undefined, 'the rest is still collected');
    }
  } finally {
    await fx.close();
  }
});

test('an output path that cannot be written is a configuration error naming it (exit 2), not a bug', async () => {
  const fx = await provisioningFixture();
  try {
    const fifo = join(fx.root, 'fifo');
    const link = join(fx.root, 'link.zip');
    const victim = join(fx.root, 'victim.txt');
    await writeFile(victim, 'kept');
    await symlink(victim, link);
    if (process.platform !== 'win32') execFileSync('mkfifo', [fifo]);
    const cases = [
      [fx.root, /is a folder, not a regular file/],
      [join(fx.root, 'missing', 'x.zip'), /ENOENT/],
      ['', /must name a file/],
      [link, /is a symbolic link, not a regular file/],
      ...(process.platform === 'win32' ? [] : [[fifo, /is a FIFO, not a regular file/] as const]),
    ] as const;
    for (const [output, why] of cases) {
      const { code, err } = await runCli(['collect-logs', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '-o', output]);
      assert.equal(code, EXIT_CODES.usage, err);
      assert.match(err, /configuration output: /);
      assert.match(err, why);
      assert.doesNotMatch(err, /bug/);
    }
    assert.equal(await readFile(victim, 'utf8'), 'kept', 'the file behind the link is untouched');
  } finally {
    await fx.close();
  }
});
