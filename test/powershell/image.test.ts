/**
 * prepare-image's Windows side end to end on the emulated Windows: the real bootstrap (its Group Policy
 * execution-policy refusal and the TypeScript mapping to EXECUTION_POLICY_BLOCKED), then the baseline,
 * the check and the removal of the build's remote access through remote-access.ps1 and image-check.ps1.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.ts';
import { ExecutionPolicyBlockedError } from '../../src/errors.ts';
import { checkImage, checkStep, recordBaselineStep, removeBuildAccess } from '../../src/cli/image-steps.ts';
import { createLog } from '../../src/util/log.ts';
import { opensslAvailable } from '../helpers/openssl.ts';
import { emulatedMachine, type EmulatedMachine, type MachineState } from './emulated-machine.ts';
import { powerShellTools } from './tools.ts';

const tools = powerShellTools();
const skip = 'skipped' in tools ? `PowerShell tier skipped: ${tools.skipped}` : !opensslAvailable() ? 'openssl is not installed' : false;
const POLICY_KEY = 'SOFTWARE\\Policies\\Microsoft\\Windows\\PowerShell';

/** A certificate with its key as base64 PFX (empty password), and its thumbprint. */
function makeCertificate(dir: string, cn: string): { data: string; thumbprint: string; publicKey: string } {
  const key = join(dir, `${cn}.key`);
  const cert = join(dir, `${cn}.pem`);
  const pfx = join(dir, `${cn}.pfx`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`], { stdio: 'pipe' });
  execFileSync('openssl', ['pkcs12', '-export', '-inkey', key, '-in', cert, '-out', pfx, '-passout', 'pass:', '-keypbe', 'AES-256-CBC', '-certpbe', 'AES-256-CBC', '-macalg', 'sha256'], { stdio: 'pipe' });
  const der = execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER']);
  // publicKey as .NET's GetPublicKeyString() gives it: the RSAPublicKey DER in hex (the emulation's MachineKeys).
  const publicKey = new X509Certificate(der).publicKey.export({ type: 'pkcs1', format: 'der' }).toString('hex').toUpperCase();
  return { data: execFileSync('base64', ['-w0', pfx]).toString(), thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(), publicKey };
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), signal: new AbortController().signal } };
}

const config = (...argv: string[]) => loadConfig({ argv: ['prepare-image', ...argv], env: {} });

describe('prepare-image on the emulated Windows', { skip, timeout: 600_000 }, () => {
  let machine: EmulatedMachine | undefined;
  let media = '';
  let build = '';
  let own = '';
  let buildKey = '';
  let ownKey = '';

  before(async () => {
    if (skip) return;
    media = await mkdtemp(join(tmpdir(), 'winprov-image-media-'));
    machine = await emulatedMachine((tools as { pwsh: string }).pwsh, { mediaDir: media });
    const b = makeCertificate(media, 'pkrvm42.westeurope.cloudapp.azure.com');
    const o = makeCertificate(media, 'rdp.contoso.com');
    build = b.thumbprint;
    own = o.thumbprint;
    buildKey = b.publicKey;
    ownKey = o.publicKey;
    await machine.editState((s: MachineState) => {
      s['services'].find((x: MachineState) => x['name'] === 'WinRM')['status'] = 'Running';
      s['certificates']['My'] = [
        { thumbprint: b.thumbprint, subject: 'CN=pkrvm42', hasPrivateKey: true, data: b.data },
        { thumbprint: o.thumbprint, subject: 'CN=rdp.contoso.com', hasPrivateKey: true, data: o.data },
      ];
      s['machineKeys'] = [b.publicKey, o.publicKey];
      s['wsman']['listeners'] = [
        { address: '*', transport: 'HTTP', port: '5985', hostname: '', enabled: 'true', certificateThumbprint: '' },
        { address: '*', transport: 'HTTPS', port: '5986', hostname: 'pkrvm42', enabled: 'true', certificateThumbprint: b.thumbprint },
      ];
      s['firewallRules'].push({ name: 'winprov-WinRM-HTTPS-In', displayName: 'winprov: WinRM over HTTPS (TCP 5986)', enabled: 'True', direction: 'Inbound', action: 'Allow', profile: 'Any', protocol: 'TCP', localPort: ['5986'] });
      s['registry']['SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State'] = { ImageState: { kind: 'String', data: 'IMAGE_STATE_COMPLETE' } };
      s['registry']['SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp'] = { SSLCertificateSHA1Hash: { kind: 'Binary', data: Buffer.from(o.thumbprint, 'hex').toString('base64') } };
    });
  });

  after(async () => {
    await machine?.close();
    if (media) await rm(media, { recursive: true, force: true });
  });

  it('records the baseline, checks, then removes the build listener, rule and certificate and keeps the image\'s own', () => machine!.withEnv(async () => {
    const m = machine!;
    const log = createLog({ consoleLevel: 'error', write: () => undefined });
    const platform = m.platform();
    try {
      const recorded = io();
      assert.equal(await recordBaselineStep(config('--record-baseline', '--build-listener', 'HTTPS'), recorded.io, platform), 0);
      const baseline = JSON.parse(await readFile(join(platform.stateDirectory, 'image-baseline.json'), 'utf8'));
      assert.deepEqual(baseline.build, { listeners: [{ address: '*', transport: 'HTTPS' }], firewallRules: ['winprov-WinRM-HTTPS-In'], certificates: [build] });

      const checked = io();
      assert.equal(await checkStep(config('--check', '--json'), checked.io, platform), 9);
      const report = JSON.parse(checked.out.join(''));
      const byId = Object.fromEntries(report.findings.map((f: { id: string; status: string }) => [f.id, f.status]));
      assert.deepEqual(byId, { bitlocker: 'OK', appx: 'OK', 'pending-reboot': 'OK', 'image-state': 'OK', 'execution-policy': 'OK', 'powershell-logging': 'OK', unattend: 'FAIL', 'guest-agent': 'OK', 'remote-access': 'WARN' });

      const prepared = io();
      await removeBuildAccess(config(), prepared.io, platform, (await checkImage(config(), prepared.io, platform, log)).plan);
      assert.match(prepared.out.join(''), /removed the WinRM listener HTTPS \*/);
      const state = await m.state();
      assert.deepEqual(state['wsman']['listeners'].map((l: MachineState) => l['transport']), ['HTTP']);
      assert.equal(state['firewallRules'].some((r: MachineState) => r['name'] === 'winprov-WinRM-HTTPS-In'), false);
      assert.equal(state['firewallRules'].some((r: MachineState) => r['name'] === 'WINRM-HTTP-In-TCP'), true);
      assert.deepEqual(state['certificates']['My'].map((c: MachineState) => c['thumbprint']), [own]);
      // The build certificate's private key left MachineKeys with it; the image's own stays.
      assert.match(prepared.out.join(''), new RegExp(`removed the private key of the certificate ${build}\n`));
      assert.deepEqual(state['machineKeys'], [ownKey]);
      assert.notEqual(buildKey, ownKey);
    } finally {
      await platform.close();
    }
  }));

  it('--remove-certificate of the RDP listener\'s certificate keeps it and says why', () => machine!.withEnv(async () => {
    const m = machine!;
    const log = createLog({ consoleLevel: 'error', write: () => undefined });
    const platform = m.platform();
    try {
      const out = io();
      await removeBuildAccess(config('--remove-certificate', own), out.io, platform, (await checkImage(config('--remove-certificate', own), out.io, platform, log)).plan);
      assert.match(out.out.join(''), new RegExp(`keep the certificate ${own}: rdp RDP-Tcp uses it`));
      assert.deepEqual((await m.state())['certificates']['My'].map((c: MachineState) => c['thumbprint']), [own]);
    } finally {
      await platform.close();
    }
  }));

  it('a Group Policy execution policy of AllSigned or Restricted refuses the session with EXECUTION_POLICY_BLOCKED; RemoteSigned does not', () => machine!.withEnv(async () => {
    const m = machine!;
    const cases: [string, MachineState, string, string | undefined][] = [
      ['MachinePolicy AllSigned', { [POLICY_KEY]: { EnableScripts: { kind: 'DWord', data: 1 }, ExecutionPolicy: { kind: 'String', data: 'AllSigned' } } }, 'MachinePolicy', 'AllSigned'],
      ['UserPolicy disabled', { [`HKEY_CURRENT_USER\\${POLICY_KEY}`]: { EnableScripts: { kind: 'DWord', data: 0 } } }, 'UserPolicy', 'Restricted'],
      ['MachinePolicy RemoteSigned', { [POLICY_KEY]: { EnableScripts: { kind: 'DWord', data: 1 }, ExecutionPolicy: { kind: 'String', data: 'RemoteSigned' } } }, '', undefined],
    ];
    for (const [name, keys, scope, policy] of cases) {
      await m.editState((s) => {
        delete s['registry'][POLICY_KEY];
        delete s['registry'][`HKEY_CURRENT_USER\\${POLICY_KEY}`];
        Object.assign(s['registry'], keys);
      });
      const platform = m.platform();
      try {
        if (policy === undefined) {
          assert.match(await platform.readVmId(), /^[0-9a-f-]{36}$/, name);
          continue;
        }
        await assert.rejects(platform.readVmId(), (err: unknown) => {
          assert.ok(err instanceof ExecutionPolicyBlockedError, `${name}: ${String(err)}`);
          assert.equal(err.code, 'EXECUTION_POLICY_BLOCKED');
          assert.equal(err.exitCode, 5);
          assert.equal(err.context['scope'], scope);
          assert.equal(err.context['policy'], policy);
          assert.match(err.hint, /Turn on Script Execution/);
          return true;
        });
        // The check says the same as a FAIL instead of failing.
        const out = io();
        assert.equal(await checkStep(config('--check', '--json'), out.io, platform), 9);
        const finding = JSON.parse(out.out.join('')).findings[0];
        assert.equal(finding.id, 'execution-policy');
        assert.equal(finding.status, 'FAIL');
      } finally {
        await platform.close();
      }
    }
    await m.editState((s) => {
      delete s['registry'][POLICY_KEY];
    });
  }));
});
