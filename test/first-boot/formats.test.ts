import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64, recognise } from '../../src/first-boot/formats.ts';
import { kvpValue } from '../../src/first-boot/publish.ts';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

test('formats are recognised as the peers recognise them', () => {
  const cases: [string, string | false][] = [
    ['#ps1\nWrite-Output 1', 'ps1'],
    ['#PS1_SYSNATIVE\r\nWrite-Output 1', 'ps1_sysnative'],
    ['x\n<PowerShell>Write-Output 1</PowerShell>\n', 'powershell-tag'],
    ['rem cmd\necho 1', 'rem-cmd'],
    ['#cmd\necho 1', 'cmd'],
    ['#!/bin/bash\necho 1', false],
    ['#cloud-config\n', false],
    ['', false],
  ];
  for (const [text, format] of cases) {
    const r = recognise(bytes(text));
    assert.equal(r.run ? r.format : false, format, text);
  }
  assert.equal(recognise(Uint8Array.of(0xff, 0xfe, 0x00)).run, false);
});

test('a PowerShell file gets a BOM and CRLF; a #cmd file loses its marker line', () => {
  const ps = recognise(bytes('#ps1\nWrite-Output "é"\n'));
  assert.ok(ps.run);
  assert.deepEqual([...ps.file.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  assert.equal(Buffer.from(ps.file.subarray(3)).toString('utf8'), '#ps1\r\nWrite-Output "é"\r\n');
  const cmd = recognise(bytes('#cmd\necho 1'));
  assert.ok(cmd.run);
  assert.equal(Buffer.from(cmd.file).toString('utf8'), 'echo 1\r\n');
  const tag = recognise(bytes('<powershell>\nA\n</powershell>'));
  assert.ok(tag.run);
  assert.equal(Buffer.from(tag.file.subarray(3)).toString('utf8'), '\r\nA\r\n');
});

test('user data is decoded from base64; other text is refused', () => {
  assert.equal(Buffer.from(decodeBase64('I3BzMQ==\n')!).toString(), '#ps1');
  assert.equal(decodeBase64('#ps1 not base64'), undefined);
});

test('the KVP value stays within 1 KB and keeps its separators unambiguous', () => {
  const value = kvpValue({ version: 1, vmId: 'vm', scripts: [{ source: 'customData', outcome: 'failed', exitCode: 2, tail: ['a|b;c', 'x'.repeat(2000)] }] });
  assert.ok(Buffer.byteLength(value) <= 1024);
  assert.match(value, /source=customData\|outcome=failed\|exit=2\|tail=a\/b\/c/);
});

test('the switch is the image\'s: winprov.json only, off by default, never from the environment', () => {
  const files: Record<string, string> = { '/img/winprov.json': JSON.stringify({ firstBootScript: 'CustomData', firstBootTimeout: '45m' }) };
  const read = (p: string) => {
    if (files[p] === undefined) throw Object.assign(new Error('no'), { code: 'ENOENT' });
    return files[p]!;
  };
  const off = loadConfig({ argv: ['first-boot-script'], env: { WINPROV_FIRST_BOOT_SCRIPT: 'both', WINPROV_IMDS_ADDRESS: 'http://10.0.0.1' }, executableDir: '/nowhere', readFile: read });
  assert.equal(off.firstBoot.mode, 'off');
  assert.equal(off.firstBoot.timeoutMs, 30 * 60_000);
  assert.equal(off.firstBoot.imdsUrl, 'http://169.254.169.254');
  const on = loadConfig({ argv: ['first-boot-script'], env: {}, executableDir: '/img', readFile: read });
  assert.equal(on.firstBoot.mode, 'customData');
  assert.equal(on.firstBoot.timeoutMs, 45 * 60_000);
  files['/img/winprov.json'] = JSON.stringify({ firstBootScript: 'sometimes' });
  assert.throws(() => loadConfig({ argv: [], env: {}, executableDir: '/img', readFile: read }), /firstBootScript.*must be one of/);
});

test('imdsBudget is an image setting: winprov.json only, a duration from 1 s to 10 min, 30 s by default', () => {
  const files: Record<string, string> = {};
  const read = (p: string) => {
    if (files[p] === undefined) throw Object.assign(new Error('no'), { code: 'ENOENT' });
    return files[p]!;
  };
  const load = (settings: Record<string, unknown> | undefined, env: Record<string, string> = {}) => {
    if (settings === undefined) delete files['/img/winprov.json'];
    else files['/img/winprov.json'] = JSON.stringify(settings);
    return loadConfig({ argv: ['first-boot-script'], env, executableDir: '/img', readFile: read });
  };
  assert.equal(load(undefined).firstBoot.imdsBudgetMs, 30_000);
  assert.equal(load({ imdsBudget: '2m' }).firstBoot.imdsBudgetMs, 120_000);
  assert.equal(load({ imdsBudget: 5 }).firstBoot.imdsBudgetMs, 5_000, 'a number is seconds, as for the other durations');
  assert.equal(load({ imdsBudget: '1s' }).firstBoot.imdsBudgetMs, 1_000);
  assert.equal(load({ imdsBudget: '10m' }).firstBoot.imdsBudgetMs, 600_000);
  // Never from the environment: WINPROV_IMDS_BUDGET is not read (and not an error either).
  assert.equal(load(undefined, { WINPROV_IMDS_BUDGET: '5m' }).firstBoot.imdsBudgetMs, 30_000);
  for (const bad of ['999ms', '11m', '0', 'soon', '-5s', true]) {
    assert.throws(
      () => load({ imdsBudget: bad }),
      (err: unknown) => err instanceof ConfigError && err.reason === 'configuration imdsBudget: must be a duration like 90s, 20m or 500ms, from 1 s to 10 min',
      String(bad),
    );
  }
});

test('imdsAddress is a plain http://host[:port] base URL; anything else names the setting and the rule', () => {
  const read = (json: string) => (p: string) => {
    if (p !== '/img/winprov.json') throw Object.assign(new Error('no'), { code: 'ENOENT' });
    return json;
  };
  const load = (imdsAddress: unknown) => loadConfig({ argv: ['first-boot-script'], env: {}, executableDir: '/img', readFile: read(JSON.stringify({ imdsAddress })) });
  assert.equal(load('http://127.0.0.1:8081/').firstBoot.imdsUrl, 'http://127.0.0.1:8081');
  assert.equal(load('http://169.254.169.254').firstBoot.imdsUrl, 'http://169.254.169.254');
  assert.throws(() => load('not a url'), (err: unknown) => err instanceof ConfigError && err.reason === 'configuration imdsAddress: must be a URL like http://169.254.169.254');
  for (const bad of ['https://169.254.169.254', 'http://169.254.169.254/metadata', 'http://a@169.254.169.254', 'http://169.254.169.254/?x=1']) {
    assert.throws(() => load(bad), (err: unknown) => err instanceof ConfigError && err.reason === 'configuration imdsAddress: must be a plain http://host[:port] URL (IMDS speaks plain HTTP)', bad);
  }
});
