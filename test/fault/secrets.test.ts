import { capturedKeys } from './capture-keys.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { provision } from '../../src/agent.ts';
import { WindowsPlatform } from '../../src/platform/windows/windows-platform.ts';
import { createLog } from '../../src/util/log.ts';
import type { FaultScript } from '../../src/simulator/index.ts';
import { FakeRunner, parseRequests, stdinLines, type Reply } from '../platform/windows/fake-runner.ts';
import { provisioningFixture, type ProvisioningFixture } from '../helpers/provisioning.ts';
import { cli, collectLogs, fabricRecords, fetchPfx, filesUnder, findings, needles, plant, scanSandbox, type Planted } from './secret-scan.ts';

/**
 * The secrets scan: a unique admin password, unique custom data and every private key the run touches
 * (the transport key, the simulator's tenant keys inside the PFX, the PFX itself) are planted, provisioning
 * runs (success and failure, debug logging, library and CLI), and then every place an operator or another
 * user could read is searched: logs, stdout/stderr, the sandbox (state folder, machine.json, the saved
 * ovf-env copy), health reports and requests the fabric received, a collect-logs zip and new temp files.
 * Only the custom data file may hold the custom data, and only the media (input) holds everything.
 */

// Every temporary file of this file's runs, in-process and in child processes, goes to a folder of its
// own (os.tmpdir() reads TMPDIR at each call; children inherit it): the scan of new temp files below then
// sees exactly them, never the temp files of other test files running alongside.
const sharedTmp = tmpdir();
const ownTmp = mkdtempSync(join(sharedTmp, 'winprov-secrets-tmp-'));
process.env['TMPDIR'] = ownTmp;
let workspace: string;
const startedAt = Date.now();
const fixtures: ProvisioningFixture[] = [];
before(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'winprov-secrets-'));
});
after(async () => {
  for (const fx of fixtures) await fx.close();
  await rm(workspace, { recursive: true, force: true });
  process.env['TMPDIR'] = sharedTmp;
  await rm(ownTmp, { recursive: true, force: true });
});

/** A simulator with the planted secrets, its sandbox, and the PFX it serves (fetched before the agent runs). */
async function plantedFixture(faults: FaultScript = {}, extra: { timeZone?: string } = {}): Promise<{ fx: ProvisioningFixture; planted: Planted }> {
  const { password, customData } = plant();
  // The first certificates step answers the PFX fetch below, so the agent meets the scripted faults.
  const certificates = [{ delayMs: 0 }, ...(faults.endpoints?.certificates ?? [])];
  const fx = await provisioningFixture({
    scenario: { adminUsername: 'opsadmin', adminPassword: password, customData, certificateCount: 2, winRmHttps: true, ...extra },
    faults: { ...faults, endpoints: { ...faults.endpoints, certificates } },
  });
  fixtures.push(fx);
  const pfx = await fetchPfx(fx);
  return { fx, planted: { password, customData, pfx: [pfx] } };
}

const scanned: string[] = [];

async function scanLibraryRun(fx: ProvisioningFixture, planted: Planted, label: string): Promise<string[]> {
  const keys = [...capturedKeys];
  const list = needles(planted, keys);
  const sandbox = await scanSandbox(fx.sandboxRoot, planted, keys);
  const zip = await collectLogs(fx.sandboxRoot, join(workspace, `${label}.zip`));
  assert.ok(Object.keys(zip).some((name) => name.startsWith('winprov/winprov.log')), 'the zip holds the log');
  assert.ok(sandbox.files.includes('ProgramData/winprov/ovf-env.xml'), 'the saved ovf-env copy is scanned');
  scanned.push(`${label}: ${sandbox.files.length} sandbox files, ${fx.lines.length} log lines, ${fx.simulator.healthReports.length} health reports, ${Object.keys(zip).length} zip entries`);
  return [
    ...sandbox.findings,
    ...findings('console log', fx.lines.join(''), list),
    ...findings('fabric records', fabricRecords(fx), list),
    ...Object.entries(zip).flatMap(([name, text]) => findings(`zip/${name}`, text, list)),
  ];
}

test('library run that reaches Ready: no password, custom data or key material anywhere but the custom data file', { timeout: 60_000 }, async () => {
  const { fx, planted } = await plantedFixture();
  const keysBefore = capturedKeys.length;
  const result = await fx.run();
  assert.equal(result.outcome, 'ready', result.error?.describe());
  // The fixture's log prints every level, debug included, to fx.lines and the log file.
  assert.equal(capturedKeys.length, keysBefore + 1, "the agent's transport key was captured");

  // Positive controls: the scan finds each secret where it is meant to be, so a clean scan means something.
  const list = needles(planted, capturedKeys);
  const media = join(fx.sandboxRoot, 'drives', 'D');
  assert.ok(findings('media', await readFile(join(media, 'ovf-env.xml'), 'latin1'), list).includes('media: password'));
  assert.ok(findings('media', await readFile(join(media, 'CustomData.bin'), 'latin1'), list).includes('media: custom data'));
  assert.ok(findings('key', capturedKeys.at(-1)!, list).some((f) => f.startsWith('key: private key')));
  assert.ok(findings('pfx', Buffer.from(planted.pfx[0]!).toString('base64'), list).includes('pfx: PFX 0 (base64)'));
  assert.ok(findings('jwk', JSON.stringify(createPrivateKey(capturedKeys.at(-1)!).export({ format: 'jwk' })), list).length >= 6);
  // The custom data did land where it belongs.
  assert.equal(await readFile(join(fx.sandboxRoot, 'SystemDrive', 'AzureData', 'CustomData.bin'), 'utf8'), planted.customData);
  const found = [...(await scanLibraryRun(fx, planted, 'library-ready')), ...findings('result', JSON.stringify(result), needles(planted, capturedKeys))];
  assert.deepEqual(found, []);
});

test('library run whose Ready is refused after everything was applied: the failure path leaks nothing', { timeout: 60_000 }, async () => {
  const { fx, planted } = await plantedFixture({ endpoints: { health: [{ delayMs: 0 }, { status: 400, body: 'Bad Request' }] } });
  const result = await fx.run();
  assert.equal(result.outcome, 'failed');
  assert.equal(result.error?.code, 'WIRESERVER_HTTP');
  const found = [
    ...(await scanLibraryRun(fx, planted, 'library-refused')),
    ...findings('error', `${result.error?.describe()} ${JSON.stringify(result.error?.context)}`, needles(planted, capturedKeys)),
  ];
  assert.deepEqual(found, []);
});

test('library run refused for a time zone that is the password: the error withholds the value', { timeout: 60_000 }, async () => {
  const { password, customData } = plant();
  const fx = await provisioningFixture({ scenario: { adminPassword: password, customData, certificateCount: 0, timeZone: password } });
  fixtures.push(fx);
  const result = await fx.run();
  assert.equal(result.error?.code, 'OVF_INVALID');
  assert.match(result.error!.reason, /^ovf-env\.xml TimeZone: .*\(value not shown: it overlaps the password\)/);
  const planted = { password, customData, pfx: [] };
  assert.deepEqual([...(await scanLibraryRun(fx, planted, 'library-timezone')), ...findings('error', result.error!.describe(), needles(planted, capturedKeys))], []);
});

/** A CLI provisioning run with -v and captured keys, then its own scan (stdout, stderr, sandbox, fabric, zip). */
async function scanCliRun(fx: ProvisioningFixture, planted: Planted, label: string, expectedCode: number): Promise<string[]> {
  const keyFile = join(workspace, `${label}.keys.pem`);
  await writeFile(keyFile, '', { mode: 0o600 });
  const run = await cli(['provision', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '--fabric', fx.simulator.url, '--deadline', '30s', '-v'], { CAPTURE_KEYS_FILE: keyFile });
  assert.equal(run.code, expectedCode, run.stdout.slice(-800));
  assert.match(run.stdout, / DEBUG /, 'debug logging was on');
  const childKeys = (await readFile(keyFile, 'utf8')).match(/-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----\n/g) ?? [];
  assert.ok(childKeys.length >= 1, 'the child transport key was captured');
  const keys = [...capturedKeys, ...childKeys];
  const list = needles(planted, keys);
  const sandbox = await scanSandbox(fx.sandboxRoot, planted, keys);
  const zip = await collectLogs(fx.sandboxRoot, join(workspace, `${label}.zip`));
  scanned.push(`${label}: ${sandbox.files.length} sandbox files, ${run.stdout.split('\n').length} stdout lines, ${fx.simulator.healthReports.length} health reports, ${Object.keys(zip).length} zip entries`);
  return [
    ...findings('stdout', run.stdout, list),
    ...findings('stderr', run.stderr, list),
    ...sandbox.findings,
    ...findings('fabric records', fabricRecords(fx), list),
    ...Object.entries(zip).flatMap(([name, text]) => findings(`zip/${name}`, text, list)),
  ];
}

test('CLI run with -v that reaches Ready: stdout, stderr, files, fabric records and the log zip hold no secret', { timeout: 60_000 }, async () => {
  const { fx, planted } = await plantedFixture();
  assert.deepEqual(await scanCliRun(fx, planted, 'cli-ready', 0), []);
  assert.equal(fx.simulator.healthReports.at(-1)?.state, 'Ready');
});

test('CLI run with -v whose certificates are addressed to another key: the failure path holds no secret', { timeout: 60_000 }, async () => {
  const { fx, planted } = await plantedFixture({ endpoints: { certificates: [{ wrongRecipient: true }, { wrongRecipient: true }] } });
  assert.deepEqual(await scanCliRun(fx, planted, 'cli-wrong-recipient', 4), []);
  assert.equal(fx.simulator.healthReports.at(-1)?.subStatus, 'ProvisioningFailed');
});

test('CLI run with -v on an ovf-env.xml broken right after the password: no secret, and the saved copy is a placeholder', { timeout: 60_000 }, async () => {
  const { fx, planted } = await plantedFixture();
  const media = join(fx.sandboxRoot, 'drives', 'D', 'ovf-env.xml');
  const ovf = await readFile(media, 'utf8');
  // The closing tag is misspelt: a parser message quoting nearby text would quote the password.
  await writeFile(media, ovf.replace('</AdminPassword>', '</AdminPasword>'));
  assert.deepEqual(await scanCliRun(fx, planted, 'cli-broken-ovf', 3), []);
  const copy = await readFile(join(fx.platform.stateDirectory, 'ovf-env.xml'), 'utf8');
  assert.match(copy, /<OvfEnvNotSaved bytes="\d+"\/>/);
});

test('no file created in the temp folder during the runs holds a secret (the test workspace and fixtures aside)', { timeout: 60_000 }, async () => {
  const ours = new Set([workspace, ...fixtures.map((fx) => fx.root)].map((p) => relative(tmpdir(), p).split(sep)[0]));
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  const fresh: string[] = [];
  for (const name of entries) {
    if (ours.has(name)) continue;
    const info = await stat(join(tmpdir(), name)).catch(() => undefined);
    if (info !== undefined && info.mtimeMs >= startedAt - 1_000) fresh.push(name);
  }
  const found: string[] = [];
  for (const name of fresh) {
    const path = join(tmpdir(), name);
    const files = (await stat(path).catch(() => undefined))?.isDirectory() ? await filesUnder(path) : [[name, await readFile(path).catch(() => Buffer.alloc(0))] as [string, Buffer]];
    for (const fx of fixtures) {
      const planted = { password: fx.simulator.adminPassword.reveal(), customData: fx.simulator.scenario.customData ?? 'none-0000-0000-0000-000000000000', pfx: [] };
      for (const [rel, data] of files.filter(([, d]) => d.length < 8 * 1024 * 1024)) {
        found.push(...findings(`tmp/${name}/${rel}`, data.toString('latin1'), needles(planted, [])));
      }
    }
  }
  assert.deepEqual(found, []);
});

// ---- Windows platform: what the process-creation audit would record --------------------------------

test('a whole run on the Windows platform puts no password, PFX, key or custom data on a command line or in script text', { timeout: 60_000 }, async () => {
  const { fx, planted } = await plantedFixture();
  const mediaDir = join(fx.sandboxRoot, 'drives', 'D');
  const vmId = randomUUID();
  const respond = (verb: string, params: Record<string, unknown>): Reply => {
    switch (verb) {
      case 'findFabricInterface':
      case 'enableDhcp':
        return { result: { name: 'Ethernet', index: 6, id: '{3F2504E0-4F89-11D3-9A0C-0305E82C3301}', mac: '00-0D-3A-12-34-56', dhcpEnabled: true, addresses: ['10.0.0.4'], addressAcquired: true } };
      case 'readDhcpInterfaceOptions':
        return { result: { found: false } };
      case 'readProvisioningMedia':
        // PowerShell only finds the drive; winprov reads ovf-env.xml and CustomData.bin itself.
        return { result: { found: true, location: mediaDir } };
      case 'readVmId':
        return { result: { uuid: vmId.toUpperCase() } };
      case 'setComputerName':
        return { result: { outcome: 'renamed', pending: params['name'] } };
      case 'ensureAdminAccount':
        return { result: { outcome: 'created', sid: 'S-1-5-21-1-2-3-1001', addedToAdministrators: true } };
      case 'importCertificates':
        return { result: { results: (params['placements'] as { thumbprint: string; store: string }[]).map((p) => ({ ...p, outcome: 'imported', hasPrivateKey: true })) } };
      case 'writeCustomData':
        return { result: { path: `${params['directory'] as string}\\CustomData.bin` } };
      case 'setTimeZone':
        return { result: { outcome: 'changed', id: params['timeZoneId'] } };
      case 'setGuestAgentServices':
      case 'readGuestAgentServices':
        return { result: { installed: [{ name: 'RdAgent', startMode: params['enabled'] === true ? 'Automatic' : 'Disabled', running: false }] } };
      case 'ensureStateDirectory':
        return { result: { path: params['path'] } };
      case 'recordEvent':
        return { result: { created: false, log: 'Application' } };
      case 'configureWinRm':
        return {
          result: {
            results: (params['listeners'] as { protocol: string }[]).map((l) => ({ protocol: l.protocol, port: l.protocol === 'Https' ? 5986 : 5985, outcome: 'created', firewallRule: 'created', ruleName: `winprov-WinRM-${l.protocol.toUpperCase()}-In` })),
            serviceStarted: true,
            startModeChanged: false,
          },
        };
      default:
        return { result: { written: true } };
    }
  };
  const runner = new FakeRunner(respond);
  const programData = join(workspace, 'windows-ProgramData');
  const lines: string[] = [];
  const log = createLog({ consoleLevel: 'debug', write: (line) => void lines.push(line) });
  const platform = new WindowsPlatform({ runner, programData, systemDrive: 'C:', log: (level, message) => log.debug(`${level}: ${message}`) });
  log.attachFile(join(platform.stateDirectory, 'winprov.log'));
  const result = await provision({ platform, log, settings: { fabricUrl: fx.simulator.url, readTimeoutMs: 5_000, deadlineMs: 30_000 } });
  await platform.close();
  log.close();
  assert.equal(result.outcome, 'ready', result.error?.describe());

  const sent = runner.allRequests().map((r) => r.verb);
  for (const verb of ['ensureAdminAccount', 'importCertificates', 'writeCustomData']) assert.ok(sent.includes(verb), `${verb} ran`);
  const list = needles(planted, [...capturedKeys]);
  // The PFX as Windows receives it (base64 of the decrypted bytes) must also stay off the command line.
  const pfxSent = runner.allRequests().find((r) => r.verb === 'importCertificates')!.params['pfx'] as string;
  list.push({ what: 'the PFX as sent to PowerShell', text: pfxSent.slice(100, 160) });
  const found: string[] = [];
  for (const [i, spawned] of runner.spawns.entries()) {
    const bootstrap = Buffer.from(spawned.args[spawned.args.indexOf('-EncodedCommand') + 1] ?? '', 'base64').toString('utf16le');
    found.push(...findings(`spawn ${i} argv`, `${spawned.file}\n${spawned.args.join('\n')}`, list));
    found.push(...findings(`spawn ${i} bootstrap script`, bootstrap, list));
    found.push(...findings(`spawn ${i} library (stdin line 1)`, stdinLines(spawned)[0] ?? '', list));
  }
  found.push(...findings('log lines', lines.join(''), list));
  for (const [rel, data] of await filesUnder(programData)) found.push(...findings(`ProgramData/${rel}`, data.toString('latin1'), list));
  assert.deepEqual(found, []);
  // The secrets did travel, on secret lines of stdin only, never inside a JSON request line.
  const sentRequests = runner.spawns.flatMap((s) => parseRequests(stdinLines(s).slice(1)));
  assert.deepEqual(findings('JSON request lines', sentRequests.map((r) => r.line).join('\n'), list), []);
  const secretValues = sentRequests.flatMap((r) => Object.values(r.secrets));
  assert.ok(secretValues.includes(Buffer.from(planted.password, 'utf8').toString('base64')), 'the password went on a secret line');
  assert.ok(secretValues.includes(Buffer.from(planted.customData).toString('base64')), 'the custom data went on a secret line');
  scanned.push(`windows: ${runner.spawns.length} PowerShell process(es), ${runner.allRequests().length} requests, ${lines.length} log lines`);
});

test('the scan covered every place it names', () => {
  // Guards against a scan that silently ran over nothing.
  assert.ok(scanned.length >= 7, scanned.join('\n'));
  assert.ok(capturedKeys.length >= 4, 'transport, tenant and stranger keys were captured');
});
