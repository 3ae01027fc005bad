import type { GuestAgentServices } from '../platform/platform.ts';
import type { ImageFacts } from '../platform/image-types.ts';
import { answerFileProblems, specializeCommands, wrappedCommand } from './unattend-rules.ts';
import { WINPROV_EXE } from '../platform/windows/setup-complete.ts';

/**
 * prepare-image --check: what would make sysprep or the first boot of a VM made from this image fail,
 * each as OK, WARN or FAIL with its fix on one line, citing the document that explains it. Pure: the
 * facts come from the platform (image-check.ps1 on Windows, machine.json in the sandbox).
 */

export type Status = 'OK' | 'WARN' | 'FAIL';

export interface Finding {
  id: 'bitlocker' | 'appx' | 'pending-reboot' | 'image-state' | 'execution-policy' | 'powershell-logging' | 'unattend' | 'guest-agent' | 'remote-access';
  status: Status;
  /** What was found, one sentence. */
  detail: string;
  /** What to do about it, with the document that explains it; empty for OK. */
  fix: string;
}

export interface CheckContext {
  /** The check at the start of prepare-image: what prepare-image itself fixes next (answer file, guest agent start mode) is OK. */
  beforePrepare: boolean;
  /** The remote-access finding, made by prepare-image.ts from the baseline and the removal plan. */
  remoteAccess: Finding;
  /** %WINDIR%\Setup\Scripts\SetupComplete.cmd as it is, or undefined when there is none: the deferred mode's Ready comes from it. */
  setupComplete?: string | undefined;
}

const DOCS = {
  sysprep: 'learn.microsoft.com/windows-hardware/manufacture/desktop/sysprep--system-preparation--overview',
  appx: 'learn.microsoft.com/troubleshoot/windows-client/deployment/sysprep-fails-remove-or-update-store-apps',
  states: 'learn.microsoft.com/windows-hardware/manufacture/desktop/windows-setup-states',
  policy: 'about_Execution_Policies, PowerShell/PowerShell#13096',
  logging: 'README "Reliability and security"; about_Logging_Windows',
  unattend: 'unattend/README.md',
  guestAgent: 'unattend/README.md "The two modes"; README "Baking winprov into an image"',
} as const;


function bitLocker(facts: ImageFacts): Finding {
  const b = facts.bitLocker;
  if (!b.available) return { id: 'bitlocker', status: 'OK', detail: 'BitLocker is not installed on this machine', fix: '' };
  if (b.volumeStatus === 'FullyDecrypted') return { id: 'bitlocker', status: 'OK', detail: `the OS volume ${b.mountPoint} is not encrypted`, fix: '' };
  return {
    id: 'bitlocker',
    status: 'FAIL',
    detail: `the OS volume ${b.mountPoint} is ${b.volumeStatus} (${b.encryptionPercentage}% encrypted, protection ${b.protectionStatus})`,
    fix: `run "Disable-BitLocker -MountPoint ${b.mountPoint}" and wait for FullyDecrypted: sysprep cannot generalize an encrypted OS volume (${DOCS.sysprep})`,
  };
}

type AppxPackage = Extract<ImageFacts['appx'], { available: true }>['installed'][number];

/** A package's family (name and publisher id) and version, from its full name Name_Version_Arch_ResourceId_PublisherId. */
function familyAndVersion(fullName: string): { family: string; version: string } {
  const parts = fullName.split('_');
  return { family: `${parts[0]}_${parts[parts.length - 1]}`.toLowerCase(), version: parts[1] ?? '' };
}

const familyOf = (p: AppxPackage): string => `${p.name}_${p.publisherId}`.toLowerCase();

/** The packages a user has that sysprep judges (framework and system packages are Windows' own). */
function userPackages(facts: ImageFacts): AppxPackage[] {
  if (!facts.appx.available) return [];
  return facts.appx.installed.filter((p) => !p.isFramework && p.signatureKind !== 'System' && p.installedUsers > 0);
}

/** Each provisioned family with its provisioned versions. */
function provisionedVersions(facts: ImageFacts): Map<string, Set<string>> {
  const provisioned = new Map<string, Set<string>>();
  if (!facts.appx.available) return provisioned;
  for (const fullName of facts.appx.provisioned) {
    const { family, version } = familyAndVersion(fullName);
    provisioned.set(family, (provisioned.get(family) ?? new Set()).add(version));
  }
  return provisioned;
}

/** Packages installed for a user whose family (name and publisher id) is not provisioned. */
export function unprovisionedPackages(facts: ImageFacts): string[] {
  const provisioned = provisionedVersions(facts);
  return userPackages(facts).filter((p) => !provisioned.has(familyOf(p))).map((p) => p.fullName);
}

/**
 * Packages of a provisioned family installed for a user in a version that is not provisioned: what the
 * Store updating an inbox app for one user leaves, on which sysprep can stop as on an unprovisioned one
 * (KB 2769827). A WARN: which versions Windows keeps staged varies, and only sysprep itself decides.
 */
export function otherVersionPackages(facts: ImageFacts): string[] {
  const provisioned = provisionedVersions(facts);
  return userPackages(facts)
    .filter((p) => {
      const versions = provisioned.get(familyOf(p));
      return versions !== undefined && !versions.has(familyAndVersion(p.fullName).version);
    })
    .map((p) => p.fullName);
}

function appx(facts: ImageFacts): Finding {
  if (!facts.appx.available) return { id: 'appx', status: 'OK', detail: 'no Appx module (Server Core or no Desktop Experience)', fix: '' };
  const missing = unprovisionedPackages(facts);
  const other = otherVersionPackages(facts);
  const list = (names: string[]) => names.slice(0, 3).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
  if (missing.length > 0) {
    return {
      id: 'appx',
      status: 'FAIL',
      detail: `${missing.length} Appx package(s) installed for a user but not provisioned: ${list(missing)}${other.length > 0 ? `; and ${other.length} in a version not provisioned: ${list(other)}` : ''}`,
      fix: `remove each with "Remove-AppxPackage -Package <full name> -AllUsers" (or provision it): sysprep stops on them (${DOCS.appx})`,
    };
  }
  if (other.length > 0) {
    return {
      id: 'appx',
      status: 'WARN',
      detail: `${other.length} Appx package(s) installed for a user in a version that is not provisioned (updated for that user): ${list(other)}`,
      fix: `if sysprep stops on one, remove that user's version with "Remove-AppxPackage -Package <full name> -AllUsers" (${DOCS.appx})`,
    };
  }
  return { id: 'appx', status: 'OK', detail: 'every Appx package installed for a user is provisioned, in that version', fix: '' };
}

function pendingReboot(facts: ImageFacts): Finding {
  if (facts.pendingReboot.length === 0) return { id: 'pending-reboot', status: 'OK', detail: 'no reboot pending', fix: '' };
  return {
    id: 'pending-reboot',
    status: 'FAIL',
    detail: `a reboot is pending (${facts.pendingReboot.join(', ')})`,
    fix: `restart the build VM (Packer: a windows-restart provisioner) and run prepare-image again: servicing left unfinished fails sysprep (${DOCS.sysprep})`,
  };
}

function imageState(facts: ImageFacts): Finding {
  const state = facts.imageState;
  if (state === 'IMAGE_STATE_COMPLETE') return { id: 'image-state', status: 'OK', detail: 'IMAGE_STATE_COMPLETE', fix: '' };
  if (state === '') return { id: 'image-state', status: 'WARN', detail: 'ImageState is missing from HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State', fix: `check that Windows Setup completed on this VM (${DOCS.states})` };
  if (state === 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE' || state === 'IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT') {
    return { id: 'image-state', status: 'FAIL', detail: `${state}: this machine is already generalized`, fix: `capture it as it is, or start again from a deployed VM; do not run sysprep twice (${DOCS.states})` };
  }
  return { id: 'image-state', status: 'FAIL', detail: `${state}: Windows Setup has not finished on this machine`, fix: `let Setup finish (restart the VM) before generalizing (${DOCS.states})` };
}

function executionPolicy(facts: ImageFacts): Finding {
  const { machinePolicy, userPolicy } = facts.executionPolicy;
  const scope = machinePolicy !== '' ? 'MachinePolicy' : userPolicy !== '' ? 'UserPolicy' : '';
  const policy = machinePolicy !== '' ? machinePolicy : userPolicy;
  if (scope === '') return { id: 'execution-policy', status: 'OK', detail: 'no execution policy set by Group Policy', fix: '' };
  const gpo = 'set "Turn on Script Execution" (Administrative Templates > Windows Components > Windows PowerShell) to Not Configured or "Allow local scripts and remote signed scripts"';
  if (policy === 'Restricted' || policy === 'AllSigned') {
    return { id: 'execution-policy', status: 'FAIL', detail: `Group Policy sets ${policy} (${scope}), which overrides -ExecutionPolicy Bypass; winprov refuses to start its PowerShell session (EXECUTION_POLICY_BLOCKED)`, fix: `${gpo} (${DOCS.policy})` };
  }
  return { id: 'execution-policy', status: 'WARN', detail: `Group Policy sets ${policy} (${scope}); Windows' modules still load, but -ExecutionPolicy Bypass has no effect`, fix: `make sure the policy that reaches VMs made from this image is not Restricted or AllSigned; ${gpo} (${DOCS.policy})` };
}

function powershellLogging(facts: ImageFacts): Finding {
  const on = [facts.logging.moduleLogging && 'Module Logging', facts.logging.scriptBlockLogging && 'Script Block Logging', facts.logging.transcription && 'Transcription'].filter((x): x is string => typeof x === 'string');
  if (on.length === 0) return { id: 'powershell-logging', status: 'OK', detail: 'PowerShell Module Logging, Script Block Logging and Transcription are off', fix: '' };
  return {
    id: 'powershell-logging',
    status: 'WARN',
    detail: `${on.join(', ')} on by policy: every VM logs what its PowerShell runs`,
    fix: `nothing to do for winprov (its secrets travel on stdin, are never bound to a cmdlet parameter, in script text or printed); check the build's own scripts pass no secret in the clear (${DOCS.logging})`,
  };
}

const DEFERRED = 'provision --defer-ready';

/**
 * The answer file read as Setup reads it (unattend-rules.ts): well-formed, the specialize pass running winprov's
 * provision command wrapped to exit 0, and in the deferred mode a SetupComplete.cmd that sends Ready. Each of
 * these missing means VMs that never report Ready (OSProvisioningTimedOut): a FAIL. Template settings an image
 * may have changed on purpose are a WARN.
 */
function unattend(facts: ImageFacts, context: CheckContext): Finding {
  const { path, xml } = facts.unattend;
  if (context.beforePrepare) return { id: 'unattend', status: 'OK', detail: `prepare-image writes its answer file to ${path}`, fix: '' };
  const again = `run "winprov prepare-image" again to put winprov's template there (${DOCS.unattend})`;
  if (xml === undefined) return { id: 'unattend', status: 'FAIL', detail: `no answer file at ${path}: VMs made from the image would not run winprov`, fix: `run "winprov prepare-image" (it installs unattend.xml there) and pass it to sysprep with /unattend (${DOCS.unattend})` };
  let deferred = false;
  try {
    deferred = specializeCommands(xml).some((command) => command.path === wrappedCommand(DEFERRED));
  } catch {
    // Not readable: answerFileProblems says why.
  }
  const { provisioning, settings } = answerFileProblems(xml, { winprovArguments: deferred ? DEFERRED : 'provision' });
  if (provisioning.length > 0) return { id: 'unattend', status: 'FAIL', detail: `the answer file at ${path} would not run winprov provision as Setup must: ${provisioning.join('; ')}`, fix: again };
  if (deferred && !runsProvision(context.setupComplete)) {
    const what = context.setupComplete === undefined ? 'there is no SetupComplete.cmd' : 'SetupComplete.cmd does not run "winprov provision"';
    return { id: 'unattend', status: 'FAIL', detail: `the answer file defers Ready to SetupComplete.cmd, but ${what}: VMs would never report Ready`, fix: `run "winprov prepare-image --defer-ready" again, or add the line "${WINPROV_EXE}" provision to it (${DOCS.unattend})` };
  }
  if (settings.length > 0) return { id: 'unattend', status: 'WARN', detail: `${path} runs winprov in the specialize pass, but differs from winprov's template: ${settings.join('; ')}`, fix: again };
  return { id: 'unattend', status: 'OK', detail: `${path} runs winprov in the specialize pass${deferred ? ', and SetupComplete.cmd sends Ready' : ''}`, fix: '' };
}

const RUNS_PROVISION = new RegExp(`^\\s*"${WINPROV_EXE.replace(/[\\.]/g, '\\$&')}"\\s+provision(\\s|$)`, 'i');

/** A line of a batch file that runs winprov's provision (not commented out, not a dry run). */
function runsProvision(script: string | undefined): boolean {
  return (script ?? '').split(/\r?\n/).some((line) => RUNS_PROVISION.test(line) && !/\s--(dry-run|defer-ready|help|version)\b/.test(line));
}

function guestAgent(services: GuestAgentServices, context: CheckContext): Finding {
  if (services.installed.length === 0) return { id: 'guest-agent', status: 'OK', detail: 'the Windows Guest Agent is not installed', fix: '' };
  const notDisabled = services.installed.filter((s) => s.startMode !== 'Disabled');
  const list = (xs: typeof services.installed) => xs.map((s) => `${s.name} ${s.startMode}${s.running ? ' running' : ''}`).join(', ');
  if (notDisabled.length === 0) return { id: 'guest-agent', status: 'OK', detail: `guest agent services Disabled (${list(services.installed)})`, fix: '' };
  if (context.beforePrepare) return { id: 'guest-agent', status: 'OK', detail: `prepare-image sets ${notDisabled.map((s) => s.name).join(', ')} to Disabled`, fix: '' };
  return {
    id: 'guest-agent',
    status: 'FAIL',
    detail: `guest agent services not Disabled: ${list(notDisabled)}`,
    fix: `run "winprov prepare-image" (it disables them): a guest agent that starts before Ready fails the deployment (${DOCS.guestAgent})`,
  };
}

export function judgeImage(facts: ImageFacts, services: GuestAgentServices, context: CheckContext): Finding[] {
  return [
    bitLocker(facts),
    appx(facts),
    pendingReboot(facts),
    imageState(facts),
    executionPolicy(facts),
    powershellLogging(facts),
    unattend(facts, context),
    guestAgent(services, context),
    context.remoteAccess,
  ];
}

/** When the PowerShell session itself was refused (EXECUTION_POLICY_BLOCKED): that one FAIL, nothing else could be read. */
export function refusedSession(reason: string, hint: string, remoteAccess: Finding | undefined): Finding[] {
  return [
    { id: 'execution-policy', status: 'FAIL', detail: reason, fix: `${hint} (${DOCS.policy})` },
    ...(remoteAccess === undefined ? [] : [remoteAccess]),
  ];
}

export function failures(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.status === 'FAIL');
}

/** One line per finding: "FAIL bitlocker: what (fix: ...)". */
export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.status.padEnd(4)} ${f.id}: ${f.detail}${f.fix ? ` (fix: ${f.fix})` : ''}\n`).join('');
}
