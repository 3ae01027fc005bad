import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { provisioningFixture, type ProvisioningFixture } from '../helpers/provisioning.ts';
import { runCli } from '../helpers/cli.ts';
import { installTemplates } from '../helpers/install-templates.ts';
import { snapshotTree } from '../helpers/tree.ts';
import type { SandboxMachine } from '../../src/platform/sandbox/machine.ts';
import type { SandboxImage } from '../../src/platform/sandbox/image.ts';
import type { ImageFacts } from '../../src/platform/image-types.ts';
import { otherVersionPackages, unprovisionedPackages } from '../../src/cli/image-check.ts';

/**
 * prepare-image's remote-access removal and --check through the command line on the sandbox platform,
 * whose machine.json carries the same facts image-check.ps1 and remote-access.ps1 read on Windows.
 */

const BUILD = 'A'.repeat(40);
const OWN = 'B'.repeat(40);
const RDP = 'C'.repeat(40);

type Machine = SandboxMachine & { image?: SandboxImage };

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

const cert = (thumbprint: string) => ({ thumbprint, hasPrivateKey: true, keyStorage: 'MachineKeySet' as const, exportable: false });

/** A build VM: the image's own HTTP listener and Windows' rule for it, the build's HTTPS listener with its certificate and rule, an RDP certificate. */
async function seedBuildVm(fx: ProvisioningFixture, image: SandboxImage = {}): Promise<void> {
  await fx.editMachine((m) => {
    const machine = m as Machine;
    machine.certificateStores['My'] = [cert(BUILD), cert(OWN), cert(RDP)];
    machine.winrm = { listeners: [{ transport: 'HTTP', port: 5985 }, { transport: 'HTTPS', port: 5986, certificateThumbprint: BUILD }], firewallPorts: [5986] };
    machine.image = {
      firewallRules: [{ name: 'WINRM-HTTP-In-TCP', displayName: 'Windows Remote Management (HTTP-In)', enabled: true, localPorts: [5985] }],
      bindings: [{ kind: 'rdp', name: 'RDP-Tcp', port: 3389, thumbprint: RDP }],
      ...image,
    };
  });
}

const args = (fx: ProvisioningFixture, ...rest: string[]) => ['prepare-image', ...rest, '--platform', 'sandbox', '--sandbox', fx.sandboxRoot];

/** A build VM (seedBuildVm) with winprov's templates installed, its baseline recorded first when asked (the HTTPS listener as the build's). */
async function buildVm(fx: ProvisioningFixture, options: { image?: SandboxImage; baseline?: boolean } = {}): Promise<void> {
  await seedBuildVm(fx, options.image);
  await installTemplates(fx.platform.installDirectory);
  if (options.baseline) assert.equal((await runCli(args(fx, '--record-baseline', '--build-listener', 'HTTPS'))).code, 0);
}

test('record-baseline at the start of the build, then prepare-image removes the build listener, rule and certificate and keeps the image\'s own', async () => {
  const fx = await provisioningFixture();
  try {
    await buildVm(fx);
    const recorded = await runCli(args(fx, '--record-baseline', '--build-listener', 'https'));
    assert.equal(recorded.code, 0, recorded.err);
    const baseline = JSON.parse(await readFile(join(fx.platform.stateDirectory, 'image-baseline.json'), 'utf8'));
    assert.deepEqual(baseline.build, { listeners: [{ address: '*', transport: 'HTTPS' }], firewallRules: ['winprov-WinRM-HTTPS-In'], certificates: [BUILD] });
    assert.deepEqual(baseline.own.certificates, [OWN, RDP]);

    const tree = await snapshotTree(fx.sandboxRoot);
    const dry = await runCli(args(fx, '--dry-run'));
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /would remove the WinRM listener HTTPS \*/);
    assert.match(dry.out, /would remove the firewall rule winprov-WinRM-HTTPS-In/);
    assert.match(dry.out, new RegExp(`would remove the certificate ${BUILD}`));
    // The baseline goes last, after the build's access it names, and the folder with it.
    const lines = dry.out.split('\n');
    const baselineLine = lines.indexOf(`would remove ${join(fx.platform.stateDirectory, 'image-baseline.json')}`);
    assert.ok(baselineLine > lines.findIndex((l) => l.startsWith('would remove the certificate')), dry.out);
    assert.equal(lines[baselineLine + 1], `would remove ${fx.platform.stateDirectory}`);
    assert.deepEqual(await snapshotTree(fx.sandboxRoot), tree, 'the dry run changed nothing');

    const { code, out, err } = await runCli(args(fx));
    assert.equal(code, 0, err);
    assert.match(out, /removed the WinRM listener HTTPS \*/);
    const machine = (await fx.machine()) as Machine;
    assert.deepEqual(machine.winrm?.listeners, [{ transport: 'HTTP', port: 5985 }]);
    assert.deepEqual(machine.winrm?.firewallPorts, []);
    assert.deepEqual(machine.image?.firewallRules?.map((r) => r.name), ['WINRM-HTTP-In-TCP']);
    assert.deepEqual(machine.certificateStores['My']!.map((c) => c.thumbprint), [OWN, RDP]);
    // The baseline went with the rest of winprov's state.
    assert.equal(await exists(join(fx.platform.stateDirectory, 'image-baseline.json')), false);
  } finally {
    await fx.close();
  }
});

test('a prepare-image that stops partway keeps the baseline and says what it did and did not; run again, it removes the build\'s access', async () => {
  const fx = await provisioningFixture();
  try {
    await buildVm(fx, { baseline: true });
    assert.equal((await fx.run()).outcome, 'ready');
    // SetupComplete.cmd cannot be written: a file stands where its folder must be.
    const scripts = join(fx.sandboxRoot, 'Windows', 'Setup', 'Scripts');
    await mkdir(join(fx.sandboxRoot, 'Windows', 'Setup'), { recursive: true });
    await writeFile(scripts, 'not a folder');
    const stopped = await runCli(args(fx, '--defer-ready'));
    assert.equal(stopped.code, 5, stopped.err);
    assert.match(stopped.err, /installSetupComplete failed: .*; prepare-image stopped: done: removing winprov's state and custom data, removing the first-boot script's startup task, disabling the guest agent services; not done: installing SetupComplete\.cmd, writing the code cache, installing the answer file, removing the build's remote access, removing the baseline /);
    assert.match(stopped.err, /then run prepare-image again: it finishes the job from the baseline/);
    assert.deepEqual(await readdir(fx.platform.stateDirectory), ['image-baseline.json']);
    assert.equal(((await fx.machine()) as Machine).winrm?.listeners.length, 2, 'the build\'s access is still there');

    await rm(scripts);
    const again = await runCli(args(fx, '--defer-ready'));
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /removed the WinRM listener HTTPS \*/);
    const machine = (await fx.machine()) as Machine;
    assert.deepEqual(machine.winrm?.listeners, [{ transport: 'HTTP', port: 5985 }]);
    assert.deepEqual(machine.winrm?.firewallPorts, []);
    const left = machine.certificateStores['My']!.map((c) => c.thumbprint);
    assert.ok(!left.includes(BUILD) && left.includes(OWN) && left.includes(RDP), left.join(', '));
    assert.equal(await exists(fx.platform.stateDirectory), false, 'the baseline, then the folder, went last');
  } finally {
    await fx.close();
  }
});

test('without a baseline, --remove-certificate removes that certificate and its listener, and keeps one another binding uses', async () => {
  const fx = await provisioningFixture();
  try {
    await buildVm(fx);
    const check = await runCli(args(fx, '--check', '--json'));
    const remote = JSON.parse(check.out).findings.find((f: { id: string }) => f.id === 'remote-access');
    assert.equal(remote.status, 'WARN');
    assert.match(remote.detail, /no baseline was recorded/);

    const { code, out, err } = await runCli(args(fx, '--remove-certificate', BUILD.toLowerCase(), '--remove-certificate', RDP));
    assert.equal(code, 0, err);
    assert.match(out, new RegExp(`removed the certificate ${BUILD}`));
    assert.match(out, new RegExp(`removed the private key of the certificate ${BUILD}\n`));
    assert.doesNotMatch(out, new RegExp(`private key of the certificate ${RDP}`));
    assert.match(out, new RegExp(`keep the certificate ${RDP}: rdp RDP-Tcp uses it|kept the certificate ${RDP}: rdp RDP-Tcp uses it`));
    const machine = (await fx.machine()) as Machine;
    assert.deepEqual(machine.winrm?.listeners.map((l) => l.transport), ['HTTP']);
    assert.deepEqual(machine.winrm?.firewallPorts, []);
    assert.deepEqual(machine.certificateStores['My']!.map((c) => c.thumbprint), [OWN, RDP]);
  } finally {
    await fx.close();
  }
});

test('prepare-image --check lists each finding, as text and as JSON, and exits 9 on a FAIL', async () => {
  const fx = await provisioningFixture();
  try {
    await seedBuildVm(fx, {
      bitLocker: { available: true, mountPoint: 'C:', volumeStatus: 'FullyEncrypted', protectionStatus: 'On', encryptionPercentage: 100 },
      appx: {
        available: true,
        installed: [
          { name: 'Contoso.Tool', fullName: 'Contoso.Tool_1.0.0.0_x64__abcdefghijk12', publisherId: 'abcdefghijk12', isFramework: false, signatureKind: 'Developer', installedUsers: 1 },
          { name: 'Microsoft.WindowsCalculator', fullName: 'Microsoft.WindowsCalculator_11.0.0.0_x64__8wekyb3d8bbwe', publisherId: '8wekyb3d8bbwe', isFramework: false, signatureKind: 'Store', installedUsers: 2 },
        ],
        provisioned: ['Microsoft.WindowsCalculator_11.0.0.0_neutral_~_8wekyb3d8bbwe'],
      },
      pendingReboot: ['Component Based Servicing\\RebootPending'],
      imageState: 'IMAGE_STATE_UNDEPLOYABLE',
      executionPolicy: { machinePolicy: 'RemoteSigned' },
      logging: { scriptBlockLogging: true },
    });
    await fx.editMachine((m) => {
      m.services = m.services.map((s) => ({ ...s, startMode: 'Automatic' as const }));
    });
    const text = await runCli(args(fx, '--check'));
    assert.equal(text.code, 9, text.err);
    const lines = text.out.trim().split('\n');
    for (const [status, id] of [['FAIL', 'bitlocker'], ['FAIL', 'appx'], ['FAIL', 'pending-reboot'], ['FAIL', 'image-state'], ['WARN', 'execution-policy'], ['WARN', 'powershell-logging'], ['FAIL', 'unattend'], ['FAIL', 'guest-agent'], ['WARN', 'remote-access']]) {
      assert.ok(lines.some((l) => l.startsWith(`${status.padEnd(4)} ${id}:`)), `${status} ${id} in:\n${text.out}`);
    }
    assert.match(text.out, /Contoso\.Tool_1\.0\.0\.0_x64__abcdefghijk12/);
    assert.doesNotMatch(text.out, /WindowsCalculator_11/);
    assert.match(text.out, /Disable-BitLocker -MountPoint C:/);

    const json = await runCli(args(fx, '--check', '--json'));
    assert.equal(json.code, 9);
    const report = JSON.parse(json.out);
    assert.equal(report.ok, false);
    assert.equal(report.findings.length, 9);
    for (const f of report.findings) assert.ok(f.status === 'OK' || f.fix !== '', `${f.id} has a fix`);

    // prepare-image refuses to go on at a FAIL and changes nothing; --force goes on.
    await installTemplates(fx.platform.installDirectory);
    const refused = await runCli(args(fx));
    assert.equal(refused.code, 9);
    assert.match(refused.err, /IMAGE_CHECK_FAILED|not ready for sysprep/);
    assert.equal(((await fx.machine()) as Machine).winrm?.listeners.length, 2);
    const forced = await runCli(args(fx, '--force'));
    assert.equal(forced.code, 0, forced.err);
  } finally {
    await fx.close();
  }
});

test('a Group Policy execution policy of AllSigned is a FAIL naming EXECUTION_POLICY_BLOCKED; a clean prepared image passes', async () => {
  const fx = await provisioningFixture();
  try {
    await installTemplates(fx.platform.installDirectory);
    await fx.editMachine((m) => {
      (m as Machine).image = { executionPolicy: { machinePolicy: 'AllSigned' } };
    });
    const blocked = await runCli(args(fx, '--check', '--json'));
    assert.equal(blocked.code, 9);
    const finding = JSON.parse(blocked.out).findings[0];
    assert.equal(finding.id, 'execution-policy');
    assert.equal(finding.status, 'FAIL');
    assert.match(finding.detail, /AllSigned \(MachinePolicy scope\)/);
    assert.match(finding.fix, /Turn on Script Execution/);

    await fx.editMachine((m) => {
      (m as Machine).image = {};
    });
    assert.equal((await runCli(args(fx))).code, 0);
    const clean = await runCli(args(fx, '--check'));
    assert.equal(clean.code, 0, clean.out);
    assert.match(clean.out, /the image is ready for sysprep/);
  } finally {
    await fx.close();
  }
});

test('the check reads the answer file as Setup does: each one that would never send Ready is a FAIL, a changed template setting a WARN', async () => {
  const fx = await provisioningFixture();
  try {
    await installTemplates(fx.platform.installDirectory);
    const answerFile = join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml');
    const setupComplete = join(fx.sandboxRoot, 'Windows', 'Setup', 'Scripts', 'SetupComplete.cmd');
    const unattendFinding = async () => (JSON.parse((await runCli(args(fx, '--check', '--json'))).out).findings as { id: string; status: string; detail: string }[]).find((f) => f.id === 'unattend')!;

    assert.equal((await runCli(args(fx, '--defer-ready'))).code, 0);
    const deferred = await readFile(answerFile, 'utf8');
    assert.deepEqual(await unattendFinding(), { id: 'unattend', status: 'OK', detail: `${answerFile} runs winprov in the specialize pass, and SetupComplete.cmd sends Ready`, fix: '' });
    const script = await readFile(setupComplete, 'latin1');
    await writeFile(setupComplete, script.replace(/^"%ProgramFiles%\\winprov\\winprov\.exe" provision .*$/m, 'rem provision moved'));
    assert.match((await unattendFinding()).detail, /defers Ready to SetupComplete\.cmd, but SetupComplete\.cmd does not run "winprov provision": VMs would never report Ready/);
    await rm(setupComplete);
    assert.match((await unattendFinding()).detail, /defers Ready to SetupComplete\.cmd, but there is no SetupComplete\.cmd/);

    assert.equal((await runCli(args(fx))).code, 0);
    const template = await readFile(answerFile, 'utf8');
    assert.equal((await unattendFinding()).status, 'OK');
    const command = /<Path>([^<]*)<\/Path>/.exec(template)![1]!;
    const broken: [string, string, RegExp][] = [
      ['only in a comment', template.replace(/<RunSynchronousCommand[^]*<\/RunSynchronousCommand>/, (m) => `<!-- ${m.replace(/--/g, '')} -->`), /0 RunSynchronousCommand entries run winprov/],
      ['a dry run', template.replace(command, command.replace('provision', 'provision --dry-run')), /the command is .*--dry-run/],
      ['another command', template.replace(command, command.replace('provision', 'provisioning')), /the command is .*provisioning/],
      ['not well-formed', template.replace('</unattend>', ''), /not well-formed XML/],
      ['a list entry without wcm:', template.replace('wcm:action="add"', 'action="add"'), /must carry wcm:action="add"/],
    ];
    for (const [what, xml, detail] of broken) {
      await writeFile(answerFile, xml);
      const finding = await unattendFinding();
      assert.equal(finding.status, 'FAIL', what);
      assert.match(finding.detail, detail, what);
    }
    // A setting the template has, changed on purpose: the VM still provisions.
    await writeFile(answerFile, template.replace('<SkipUserOOBE>true</SkipUserOOBE>', '<SkipUserOOBE>false</SkipUserOOBE>'));
    const changed = await unattendFinding();
    assert.equal(changed.status, 'WARN');
    assert.match(changed.detail, /runs winprov in the specialize pass, but differs from winprov's template: oobeSystem pass: OOBE SkipUserOOBE must be true/);
  } finally {
    await fx.close();
  }
});

test('--keep-remote-access leaves the build\'s access and its baseline; --remote-access-only removes them last', async () => {
  const fx = await provisioningFixture();
  try {
    await buildVm(fx, { baseline: true });
    const kept = await runCli(args(fx, '--keep-remote-access'));
    assert.equal(kept.code, 0, kept.err);
    assert.match(kept.out, /keep the WinRM listener HTTPS \* for "prepare-image --remote-access-only"/);
    assert.equal(((await fx.machine()) as Machine).winrm?.listeners.length, 2);
    const baselineFile = join(fx.platform.stateDirectory, 'image-baseline.json');
    assert.ok(await exists(baselineFile));
    assert.ok(!(await exists(join(fx.platform.stateDirectory, 'state.json'))));

    const last = await runCli(args(fx, '--remote-access-only'));
    assert.equal(last.code, 0, last.err);
    assert.match(last.out, /removed the WinRM listener HTTPS \*/);
    const machine = (await fx.machine()) as Machine;
    assert.deepEqual(machine.winrm?.listeners.map((l) => l.transport), ['HTTP']);
    assert.deepEqual(machine.certificateStores['My']!.map((c) => c.thumbprint), [OWN, RDP]);
    assert.equal(await exists(fx.platform.stateDirectory), false);
  } finally {
    await fx.close();
  }
});

test('with WinRM stopped, --record-baseline and --remote-access-only refuse (exit 9) and keep the baseline; --force goes on with a warning', async () => {
  const fx = await provisioningFixture();
  try {
    await buildVm(fx, { image: { winrmRunning: false } });
    const recorded = await runCli(args(fx, '--record-baseline', '--build-listener', 'https'));
    assert.equal(recorded.code, 9, recorded.err);
    assert.match(recorded.err, /the WinRM service is not running: its listeners cannot be read, and a baseline without them would/);
    assert.equal(await exists(join(fx.platform.stateDirectory, 'image-baseline.json')), false);

    // Recorded while WinRM ran, then stopped: --remote-access-only removes nothing and keeps the baseline.
    await fx.editMachine((m) => void ((m as Machine).image!.winrmRunning = true));
    assert.equal((await runCli(args(fx, '--record-baseline', '--build-listener', 'https'))).code, 0);
    await fx.editMachine((m) => void ((m as Machine).image!.winrmRunning = false));
    const before = await fx.machine();
    const only = await runCli(args(fx, '--remote-access-only'));
    assert.equal(only.code, 9, only.err);
    assert.match(only.err, /the build's listeners cannot be read or removed \(the baseline is kept\)/);
    assert.equal(await exists(join(fx.platform.stateDirectory, 'image-baseline.json')), true);
    assert.deepEqual(((await fx.machine()) as Machine).image, (before as Machine).image);

    const forced = await runCli(args(fx, '--remote-access-only', '--force'));
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.err, /warning: winrm-service: .* \(going on: --force\)/);
    assert.equal(await exists(join(fx.platform.stateDirectory, 'image-baseline.json')), true, 'kept for a run that sees the listeners');
  } finally {
    await fx.close();
  }
});

test('with WinRM stopped, prepare-image with a baseline or thumbprints refuses (exit 9) before any change; --force keeps the baseline for a run that sees the listeners', async () => {
  const fx = await provisioningFixture();
  try {
    await buildVm(fx, { baseline: true });
    assert.equal((await fx.run()).outcome, 'ready');
    await fx.editMachine((m) => void ((m as Machine).image!.winrmRunning = false));
    const tree = await snapshotTree(fx.sandboxRoot);
    for (const extra of [[], ['--dry-run'], ['--defer-ready']]) {
      const refused = await runCli(args(fx, ...extra));
      assert.equal(refused.code, 9, `${extra.join(' ')}: ${refused.err}`);
      assert.match(refused.err, /winrm-service: the WinRM service is not running: the build's listeners cannot be read or removed/);
    }
    assert.deepEqual(await snapshotTree(fx.sandboxRoot), tree, 'nothing changed');
    // Without a baseline, the listeners bound to the named certificates cannot be seen either.
    const baselineFile = join(fx.platform.stateDirectory, 'image-baseline.json');
    const recorded = await readFile(baselineFile);
    await rm(baselineFile);
    assert.equal((await runCli(args(fx, '--remove-certificate', BUILD))).code, 9);
    await writeFile(baselineFile, recorded);

    const forced = await runCli(args(fx, '--force'));
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.err, /warning: winrm-service: .* \(going on: --force\)/);
    assert.ok(forced.out.split('\n').includes(`keep ${baselineFile}: the build's WinRM listeners could not be read; run prepare-image again once WinRM runs`), forced.out);
    assert.deepEqual(await readdir(fx.platform.stateDirectory), ['image-baseline.json']);

    await fx.editMachine((m) => void ((m as Machine).image!.winrmRunning = true));
    const again = await runCli(args(fx));
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /removed the WinRM listener HTTPS \*/);
    assert.deepEqual(((await fx.machine()) as Machine).winrm?.listeners, [{ transport: 'HTTP', port: 5985 }]);
    assert.equal(await exists(fx.platform.stateDirectory), false);
  } finally {
    await fx.close();
  }
});

test('an inbox app updated for one user (its version not provisioned) is a WARN naming it; an unprovisioned family stays a FAIL', async () => {
  const calculator = (version: string, users: number) => ({ name: 'Microsoft.WindowsCalculator', fullName: `Microsoft.WindowsCalculator_${version}_x64__8wekyb3d8bbwe`, publisherId: '8wekyb3d8bbwe', isFramework: false, signatureKind: 'Store', installedUsers: users });
  const facts = (installed: ReturnType<typeof calculator>[]) => ({ appx: { available: true as const, installed, provisioned: ['Microsoft.WindowsCalculator_11.0.0.0_neutral_~_8wekyb3d8bbwe'] } }) as unknown as ImageFacts;
  // The provisioned version for every user: nothing to say.
  assert.deepEqual(otherVersionPackages(facts([calculator('11.0.0.0', 2)])), []);
  // Updated by the Store for one user.
  const updated = facts([calculator('11.0.0.0', 1), calculator('11.2.0.0', 1)]);
  assert.deepEqual(otherVersionPackages(updated), ['Microsoft.WindowsCalculator_11.2.0.0_x64__8wekyb3d8bbwe']);
  assert.deepEqual(unprovisionedPackages(updated), []);
  // A newer version no user has (staged) is not judged.
  assert.deepEqual(otherVersionPackages(facts([calculator('11.2.0.0', 0)])), []);
});
