import { EXIT_CODES, ImageCheckFailedError } from '../errors.ts';
import type { AgentConfig } from '../config.ts';
import type { CommandIo } from './io.ts';
import type { ImageVerbs, Platform } from '../platform/platform.ts';
import type { Log } from '../util/log.ts';
import { failures, formatFindings } from './image-check.ts';
import { preflight } from './image-preflight.ts';
import { rm } from 'node:fs/promises';
import { baselinePath, describeKeptRules, describeRemoval, isEmpty, planRemoval, readBaseline, recordBaseline, writeBaseline, type ImageBaseline, type RemovalPlan } from './remote-access.ts';

/**
 * The steps prepare-image adds to its own (README "Baking winprov into an image"): --record-baseline at
 * the start of the build, --check on its own, and at the start of every prepare-image the same check
 * (a FAIL stops it unless --force) followed by the removal of the build's remote access.
 */

type ImagePlatform = Platform & ImageVerbs;

/** prepare-image --record-baseline: what remote access the image has now, with the build's own named by --build-listener. */
export async function recordBaselineStep(config: Readonly<AgentConfig>, io: CommandIo, platform: ImagePlatform): Promise<number> {
  const inventory = await platform.readRemoteAccess();
  // Recorded without them, the image's own listeners would later be taken for the build's and removed.
  requireWinRm(config, io, inventory.winrmRunning, 'its listeners cannot be read, and a baseline without them would have prepare-image take the image\'s own listeners for the build\'s');
  const baseline = recordBaseline(inventory, config.image.buildListeners, config.image.removeCertificates);
  const own = baseline.own;
  const build = baseline.build;
  const lines = [
    `the image's own: ${own.listeners.length} listener(s)${own.listeners.length ? ` (${own.listeners.map((l) => `${l.transport} ${l.address}`).join(', ')})` : ''}, ${own.firewallRules.length} firewall rule(s) opening a WinRM port, ${own.certificates.length} certificate(s) in LocalMachine\\My`,
    `the build's (removed by prepare-image): ${[...build.listeners.map((l) => `listener ${l.transport} ${l.address}`), ...build.firewallRules.map((r) => `rule ${r}`), ...build.certificates.map((t) => `certificate ${t}`)].join(', ') || 'nothing named (anything added after this point is the build\'s)'}`,
  ];
  if (config.dryRun) {
    io.out(`would record the baseline:\n${lines.map((l) => `  ${l}\n`).join('')}`);
    return EXIT_CODES.ok;
  }
  await platform.ensureStateDirectory();
  const path = await writeBaseline(platform.stateDirectory, baseline);
  io.out(`recorded the baseline in ${path}:\n${lines.map((l) => `  ${l}\n`).join('')}`);
  return EXIT_CODES.ok;
}

/** prepare-image --check [--json]: every finding; exit 9 when one is FAIL. */
export async function checkStep(config: Readonly<AgentConfig>, io: CommandIo, platform: ImagePlatform): Promise<number> {
  const { findings } = await preflight(config, platform, false);
  const failed = failures(findings);
  if (config.json) io.out(`${JSON.stringify({ ok: failed.length === 0, findings }, null, 2)}\n`);
  else io.out(`${formatFindings(findings)}${failed.length === 0 ? 'the image is ready for sysprep\n' : `${failed.length} FAIL: the image is not ready for sysprep\n`}`);
  return failed.length === 0 ? EXIT_CODES.ok : EXIT_CODES.imageCheck;
}

/**
 * The check before prepare-image changes anything: a FAIL stops it (ImageCheckFailedError, exit 9)
 * unless --force; WARN lines are printed and it goes on. Returns the baseline, the plan for the build's
 * remote access, which removeBuildAccess carries out last, and whether that plan saw the listeners.
 */
export async function checkImage(config: Readonly<AgentConfig>, io: CommandIo, platform: ImagePlatform, log: Log): Promise<{ baseline: ImageBaseline | undefined; plan: RemovalPlan | undefined; listenersSeen: boolean }> {
  const { findings, plan, baseline, inventory } = await preflight(config, platform, true);
  const notable = findings.filter((f) => f.status !== 'OK');
  if (notable.length > 0) io.out(formatFindings(notable));
  const failed = failures(findings);
  if (failed.length > 0) {
    if (!config.image.force) throw new ImageCheckFailedError(failed.map((f) => `${f.id}: ${f.detail}`));
    log.warn(`going on despite ${failed.length} FAIL finding(s) (--force)`);
  }
  const listenersSeen = inventory?.winrmRunning ?? false;
  // A removal from the baseline (or from thumbprints) without the listeners would take the build's rules
  // and certificates and leave its listener, bound to a deleted certificate, with no baseline to find it by.
  const removes = !config.image.keepRemoteAccess && (baseline !== undefined || config.image.removeCertificates.length > 0);
  if (removes && inventory !== undefined) requireWinRm(config, io, listenersSeen, 'the build\'s listeners cannot be read or removed, and its rules and certificates would go without them (the baseline is kept)');
  return { baseline, plan, listenersSeen };
}

/**
 * prepare-image's last change: the build's remote access removed, or with --keep-remote-access said to
 * be kept. Last, so that a session running over a listener it removes ends with everything else done.
 */
export async function removeBuildAccess(config: Readonly<AgentConfig>, io: CommandIo, platform: ImagePlatform, plan: RemovalPlan | undefined): Promise<void> {
  if (plan === undefined) return;
  if (config.image.keepRemoteAccess) {
    // The WinRM session running this would end with its listener (Packer): a later
    // "prepare-image --remote-access-only" removes it, from the baseline prepare-image writes back.
    for (const line of describeRemoval(plan.removal)) io.out(`keep ${line} for "prepare-image --remote-access-only" (--keep-remote-access)\n`);
    return;
  }
  await removePlanned(config, io, platform, plan);
}

async function removePlanned(config: Readonly<AgentConfig>, io: CommandIo, platform: ImagePlatform, plan: RemovalPlan): Promise<void> {
  const say = (line: string) => io.out(`${config.dryRun ? 'would ' : ''}${line}\n`);
  if (isEmpty(plan.removal) || config.dryRun) {
    for (const line of describeRemoval(plan.removal)) say(`remove ${line}`);
    for (const k of plan.kept) io.out(`keep the certificate ${k.thumbprint}: ${k.usedBy} uses it\n`);
    for (const line of describeKeptRules(plan)) io.out(`${line}\n`);
    return;
  }
  const done = await platform.removeRemoteAccess(plan.removal);
  for (const line of describeRemoval(done)) say(`removed ${line}`);
  for (const t of done.keysDeleted) say(`removed the private key of the certificate ${t}`);
  for (const k of done.keysShared) io.out(`kept the private key of the certificate ${k.thumbprint}: ${k.sharedWith} uses the same key\n`);
  for (const k of [...plan.kept, ...done.kept]) io.out(`kept the certificate ${k.thumbprint}: ${k.usedBy} uses it\n`);
  for (const line of describeKeptRules(plan)) io.out(`${line}\n`);
}

/**
 * prepare-image --keep-remote-access leaves the baseline in the state folder; the thumbprints named on
 * this command line are added to it (or to one naming only them), so that --remote-access-only still
 * knows what is the build's.
 */
export async function keepBaseline(config: Readonly<AgentConfig>, io: CommandIo, platform: ImagePlatform, baseline: ImageBaseline | undefined): Promise<void> {
  if (!config.image.keepRemoteAccess || config.dryRun) return;
  if (baseline === undefined && config.image.removeCertificates.length === 0) return;
  const kept: ImageBaseline = baseline ?? { version: 1, recordedAt: new Date().toISOString(), own: { listeners: [], firewallRules: [], certificates: [] }, build: { listeners: [], firewallRules: [], certificates: [] }, partial: true };
  kept.build.certificates = [...new Set([...kept.build.certificates, ...config.image.removeCertificates])];
  await platform.ensureStateDirectory();
  io.out(`kept the baseline for "prepare-image --remote-access-only" in ${await writeBaseline(platform.stateDirectory, kept)}\n`);
}

/**
 * prepare-image --remote-access-only: the removal alone, from the baseline and --remove-certificate, then
 * the baseline and the state folder it left go (the last command of a build whose session runs over the
 * listener it removes).
 */
export async function remoteAccessOnlyStep(config: Readonly<AgentConfig>, io: CommandIo, platform: ImagePlatform): Promise<number> {
  const baseline = await readBaseline(platform.stateDirectory);
  const inventory = await platform.readRemoteAccess();
  // The baseline is deleted below: removed without the listeners, the build's would stay for good.
  requireWinRm(config, io, inventory.winrmRunning, 'the build\'s listeners cannot be read or removed (the baseline is kept)');
  const plan = planRemoval(inventory, baseline, config.image.removeCertificates);
  await removePlanned(config, io, platform, plan);
  if (baseline !== undefined && !inventory.winrmRunning) {
    // Gone on with --force: the listeners are still to be removed, by a run that can see them.
    io.out(`keep ${baselinePath(platform.stateDirectory)}: the build's listeners could not be read; run this again once WinRM runs\n`);
  } else if (!config.dryRun && baseline !== undefined) {
    // The folder itself goes once the run lock is released (prepare-image.ts).
    await rm(baselinePath(platform.stateDirectory), { force: true });
  }
  return EXIT_CODES.ok;
}

/** The WinRM service must run for its listeners to be read; without it the step stops unless --force. */
function requireWinRm(config: Readonly<AgentConfig>, io: CommandIo, running: boolean, consequence: string): void {
  if (running) return;
  const finding = `winrm-service: the WinRM service is not running: ${consequence}; start it (Start-Service WinRM) and run this again`;
  if (!config.image.force) throw new ImageCheckFailedError([finding]);
  io.err(`winprov: warning: ${finding} (going on: --force)\n`);
}
