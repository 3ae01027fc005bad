/**
 * The Windows platform end to end on the emulated Windows: WindowsPlatform starts
 * test/powershell/emulation/bin/powershell (pwsh with the emulation) with its real command line, the real
 * bootstrap loads the real scripts, and each verb of a provisioning run changes the emulated machine,
 * whose state file this test seeds before and reads after.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WindowsPlatform } from '../../src/platform/windows/index.ts';
import { Secret } from '../../src/util/secret.ts';
import { opensslAvailable } from '../helpers/openssl.ts';
import { powerShellTools, REPO_ROOT, runPwsh } from './tools.ts';

const tools = powerShellTools();
const LAUNCHER = join(REPO_ROOT, 'test', 'powershell', 'emulation', 'bin', 'powershell');
const PASSWORD = 'Emulated-Passw0rd!x';
const CUSTOM_DATA = Buffer.from('#!custom data, secret-ish 7f3a');

type State = Record<string, any>;

function readState(path: string): State {
  return JSON.parse(readFileSync(path, 'utf8')) as State;
}

/** A self-signed certificate with its key as a PFX sealed with the empty password, and its thumbprint. */
function makePfx(dir: string): { pfx: Buffer; thumbprint: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const pfx = join(dir, 'bundle.pfx');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=winprov-emulation']);
  execFileSync('openssl', ['pkcs12', '-export', '-inkey', key, '-in', cert, '-out', pfx, '-passout', 'pass:', '-keypbe', 'AES-256-CBC', '-certpbe', 'AES-256-CBC', '-macalg', 'sha256']);
  const der = execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER']);
  return { pfx: readFileSync(pfx), thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase() };
}

describe('WindowsPlatform on the emulated Windows', { skip: 'skipped' in tools ? `PowerShell tier skipped: ${tools.skipped}` : false }, () => {
  let dir = '';
  let statePath = '';
  let callsPath = '';
  let platform: WindowsPlatform | undefined;
  let pfxBase64 = '';
  const logs: string[] = [];
  const saved = { state: process.env['WINPROV_EMULATION_STATE'], calls: process.env['WINPROV_EMULATION_CALLS'] };

  before(async () => {
    if ('skipped' in tools) return;
    dir = mkdtempSync(join(tmpdir(), 'winprov-emulation-'));
    statePath = join(dir, 'state.json');
    callsPath = join(dir, 'calls.jsonl');
    // The typical image, written by the emulation itself, then seeded with this run's media.
    const ovfEnv = '<?xml version="1.0" encoding="utf-8"?><Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"><marker>emulated-ovf</marker></Environment>';
    const script = [
      `. ./test/powershell/emulation/Import-WindowsEmulation.ps1`,
      `$s = New-WindowsEmulationState -Root '${dir}' -OvfEnv '${ovfEnv}' -CustomData ([byte[]](1,2,3))`,
      `Initialize-WindowsEmulation -State $s -Path '${statePath}'`,
    ].join('; ');
    const seeded = await runPwsh(tools.pwsh, ['-Command', script]);
    assert.equal(seeded.code, 0, seeded.stderr);
    process.env['WINPROV_EMULATION_STATE'] = statePath;
    process.env['WINPROV_EMULATION_CALLS'] = callsPath;
    platform = new WindowsPlatform({ powershell: LAUNCHER, programData: dir, systemRoot: dir, systemDrive: 'C:', requestTimeoutMs: 30_000, log: (level, message) => logs.push(`${level}: ${message}`) });
  });

  after(async () => {
    await platform?.close();
    if (saved.state === undefined) delete process.env['WINPROV_EMULATION_STATE'];
    else process.env['WINPROV_EMULATION_STATE'] = saved.state;
    if (saved.calls === undefined) delete process.env['WINPROV_EMULATION_CALLS'];
    else process.env['WINPROV_EMULATION_CALLS'] = saved.calls;
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('finds the fabric interface and reads the cached WireServer address', async () => {
    const iface = await platform!.findFabricInterface('168.63.129.16');
    assert.equal(iface.name, 'Ethernet');
    assert.equal(iface.index, 6);
    assert.equal(iface.dhcpEnabled, true);
    assert.equal(await platform!.readCachedWireServerAddress(iface), '168.63.129.16');
  });

  it('enables DHCP and removes a static address', async () => {
    const state = readState(statePath);
    state['network']['addresses'].push({ interfaceIndex: 6, ipAddress: '10.0.0.99', prefixLength: 24, prefixOrigin: 'Manual', addressFamily: 'IPv4' });
    state['network']['interfaces'][0]['dhcp'] = false;
    writeFileSync(statePath, JSON.stringify(state));
    const iface = await platform!.findFabricInterface('168.63.129.16');
    const updated = await platform!.enableDhcp(iface, 2_000);
    assert.equal(updated.dhcpEnabled, true);
    const after = readState(statePath);
    assert.deepEqual(after['network']['addresses'].filter((a: State) => a['interfaceIndex'] === 6).map((a: State) => a['ipAddress']), ['10.0.0.4']);
    const removed = readFileSync(callsPath, 'utf8').split('\n').filter((line) => line.includes('"command":"Remove-NetIPAddress"'));
    assert.equal(removed.length, 1, 'the manual address is removed by Remove-NetIPAddress');
    assert.match(removed[0]!, /10\.0\.0\.99/);
  });

  it('reads the provisioning media and the VM id', async () => {
    const media = await platform!.readProvisioningMedia();
    assert.match(Buffer.from(media.ovfEnv.reveal()).toString('utf8'), /emulated-ovf/);
    assert.deepEqual([...media.customData!.reveal()], [1, 2, 3]);
    assert.equal(await platform!.readVmId(), '7a1d6e1f-2c3b-4d5e-8f90-a1b2c3d4e5f6');
  });

  it('sets the computer name once', async () => {
    assert.equal(await platform!.setComputerName('vm-emulated-01'), 'renamed');
    assert.equal(await platform!.setComputerName('VM-EMULATED-01'), 'unchanged');
    const registry = readState(statePath)['registry'];
    assert.equal(registry['SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters']['NV Hostname']['data'], 'vm-emulated-01');
  });

  it('makes the built-in Administrator (RID 500) the admin: renamed, then updated', async () => {
    const renamed = await platform!.ensureAdminAccount({ username: 'azureuser', password: new Secret(PASSWORD), resetPasswordOnFirstLogon: false });
    assert.equal(renamed.outcome, 'renamed');
    assert.equal(renamed.previousName, 'Administrator');
    assert.match(renamed.sid, /^S-1-5-21-\d+-\d+-\d+-500$/);
    let state = readState(statePath);
    const user = state['users'].find((u: State) => u['name'] === 'azureuser');
    assert.equal(user['sid'], renamed.sid);
    assert.equal(user['passwordSha256'], createHash('sha256').update(PASSWORD).digest('hex'));
    assert.ok(state['groups'].find((g: State) => g['sid'] === 'S-1-5-32-544')['members'].includes(user['sid']));
    assert.ok(!state['users'].some((u: State) => u['name'] === 'Administrator'), 'no second account');
    assert.deepEqual(await platform!.ensureAdminAccount({ username: 'AzureUser', password: new Secret(PASSWORD), resetPasswordOnFirstLogon: true }), { outcome: 'updated', sid: renamed.sid });
    state = readState(statePath);
    assert.equal(state['users'].find((u: State) => u['sid'] === renamed.sid)['passwordExpired'], true);
  });

  it('refuses a password the policy refuses, as a rejection', async () => {
    await assert.rejects(platform!.ensureAdminAccount({ username: 'weak', password: new Secret('short'), resetPasswordOnFirstLogon: false }), (err: Error) => {
      assert.match(err.message, /password policy/);
      assert.doesNotMatch(err.message, /short/);
      return true;
    });
  });

  it('imports a certificate and creates the WinRM listeners', { skip: opensslAvailable() ? false : 'openssl is not installed' }, async () => {
    const { pfx, thumbprint } = makePfx(dir);
    pfxBase64 = pfx.toString('base64');
    const results = await platform!.importCertificates({ pfx: new Secret(new Uint8Array(pfx)), pfxPassword: '', placements: [{ thumbprint, store: 'My', hasPrivateKey: true }] });
    assert.deepEqual(results, [{ thumbprint, store: 'My', outcome: 'imported' }]);
    assert.equal(readState(statePath)['certificates']['My'][0]['thumbprint'], thumbprint);
    const listeners = await platform!.configureWinRm([{ protocol: 'Http', certificateThumbprint: undefined }, { protocol: 'Https', certificateThumbprint: thumbprint }]);
    assert.deepEqual(listeners.map((l) => [l.protocol, l.port]), [['Http', 5985], ['Https', 5986]]);
    const state = readState(statePath);
    assert.deepEqual(state['wsman']['listeners'].map((l: State) => [l['transport'], l['port'], l['certificateThumbprint']]), [['HTTP', '5985', ''], ['HTTPS', '5986', thumbprint]]);
    assert.equal(state['wsman']['listeners'][1]['hostname'], listeners[1]!.hostname, 'the HTTPS listener carries its certificate\'s CN');
    assert.ok(listeners[1]!.hostname, 'a Hostname');
    assert.equal(state['services'].find((s: State) => s['name'] === 'WinRM')['status'], 'Running');
    assert.ok(state['firewallRules'].some((r: State) => r['name'] === 'winprov-WinRM-HTTPS-In' && r['localPort'][0] === '5986'));
  });

  it('extends the OS volume, then finds it at its largest size', async () => {
    const first = await platform!.extendOsVolume();
    assert.equal(first.outcome, 'extended');
    assert.equal(first.sizeAfter, 127 * 2 ** 30 - 117 * 2 ** 20);
    assert.equal((await platform!.extendOsVolume()).outcome, 'maximum');
  });

  it('writes custom data into a private folder', async () => {
    const path = await platform!.writeCustomData(new Secret(new Uint8Array(CUSTOM_DATA)));
    assert.match(path, /AzureData/);
    assert.deepEqual(readFileSync(join(dir, 'C', 'AzureData', 'CustomData.bin')), CUSTOM_DATA);
    const acl = readState(statePath)['acls'][join(dir, 'C', 'AzureData')];
    assert.equal(acl['protected'], true);
    assert.deepEqual(acl['rules'].map((r: State) => r['sid']), ['S-1-5-18', 'S-1-5-32-544']);
  });

  it('sets the time zone, the guest agent services, the KVP report, an event and the state folder', async () => {
    assert.equal(await platform!.setTimeZone('Pacific Standard Time'), 'changed');
    assert.equal(await platform!.setTimeZone('Pacific Standard Time'), 'unchanged');
    const services = await platform!.setGuestAgentServices(true);
    assert.deepEqual(services.installed.map((s) => s.startMode), ['Automatic', 'Automatic', 'Automatic']);
    assert.deepEqual((await platform!.readGuestAgentServices()).installed.map((s) => s.running), [false, false, false]);
    await platform!.writeKvpReport('PROVISIONING_REPORT: emulated');
    await platform!.recordEvent({ kind: 'start', message: 'winprov started (emulated)' });
    await platform!.ensureStateDirectory();
    const state = readState(statePath);
    assert.equal(state['timeZone']['id'], 'Pacific Standard Time');
    assert.equal(state['registry']['SOFTWARE\\Microsoft\\Virtual Machine\\Guest']['PROVISIONING_REPORT']['data'], 'PROVISIONING_REPORT: emulated');
    const entry = state['eventLog']['entries'].at(-1);
    assert.deepEqual([entry['source'], entry['log'], entry['id'], entry['entryType']], ['winprov', 'Application', 1000, 'Information']);
    assert.ok(state['eventLog']['sources']['Application'].includes('winprov'));
    assert.ok(state['acls'][platform!.stateDirectory]);
  });

  it('collects the diagnostics: registry values and event extracts', async () => {
    const files = await platform!.collectDiagnostics();
    const text = (name: string): string => {
      const file = files.find((f) => f.name === name);
      assert.ok(file, `${name} is missing (${files.map((f) => f.name).join(', ')})`);
      return Buffer.from(file.data as string | Uint8Array).toString('utf8');
    };
    assert.match(text('windows/registry.txt'), /SystemSetupInProgress/);
    assert.match(text('windows/registry.txt'), /PROVISIONING_REPORT/);
    assert.match(text('windows/events-winprov.txt'), /winprov started \(emulated\)/);
    assert.match(text('windows/events-system.txt'), /7000/);
    assert.ok(!files.some((f) => f.name === 'windows/collection-notes.txt' && /registry values/.test(Buffer.from(f.data as string | Uint8Array).toString('utf8'))));
  });

  it('leaves nothing in the pipeline of any verb', () => {
    assert.deepEqual(logs.filter((line) => /objects in the pipeline/.test(line)), []);
  });

  it('never binds a secret to a command parameter', () => {
    assert.ok(existsSync(callsPath));
    const calls = readFileSync(callsPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { command: string; deep: string[] });
    assert.ok(calls.length > 20, `only ${calls.length} calls recorded`);
    const secrets = [PASSWORD, Buffer.from(PASSWORD).toString('base64'), CUSTOM_DATA.toString('utf8'), CUSTOM_DATA.toString('base64'), ...(pfxBase64 === '' ? [] : [pfxBase64])];
    for (const call of calls) {
      for (const text of call.deep) {
        for (const secret of secrets) assert.ok(!text.includes(secret), `${call.command} was given a secret`);
      }
    }
  });
});
