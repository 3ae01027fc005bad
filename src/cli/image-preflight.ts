import { ExecutionPolicyBlockedError } from '../errors.ts';
import type { AgentConfig } from '../config.ts';
import type { ImageVerbs, Platform } from '../platform/platform.ts';
import type { RemoteAccessInventory } from '../platform/image-types.ts';
import { judgeImage, refusedSession, type Finding } from './image-check.ts';
import { describeKeptRules, describeRemoval, isEmpty, planRemoval, readBaseline, type ImageBaseline, type RemovalPlan } from './remote-access.ts';

/**
 * Reads what prepare-image --check judges (and what prepare-image checks before it changes anything):
 * the baseline, the remote access and its removal plan, the image facts and the guest agent services.
 */

export interface Preflight {
  findings: Finding[];
  baseline: ImageBaseline | undefined;
  /** Undefined when the PowerShell session was refused (EXECUTION_POLICY_BLOCKED). */
  inventory: RemoteAccessInventory | undefined;
  plan: RemovalPlan | undefined;
}

const README = 'README "Baking winprov into an image"';

function remoteAccessFinding(inventory: RemoteAccessInventory, baseline: ImageBaseline | undefined, plan: RemovalPlan, beforePrepare: boolean, named: readonly string[], kept: boolean): Finding {
  const inUse = [...plan.kept.map((k) => `certificate ${k.thumbprint} is kept: ${k.usedBy} uses it`), ...describeKeptRules(plan)];
  if (!inventory.winrmRunning) {
    return { id: 'remote-access', status: 'WARN', detail: 'the WinRM service is not running, so its listeners could not be listed', fix: `start it ("Start-Service WinRM") and run the check again (${README})` };
  }
  if (!isEmpty(plan.removal)) {
    const what = describeRemoval(plan.removal).join(', ');
    const also = inUse.length ? `; ${inUse.join('; ')}` : '';
    if (beforePrepare) return { id: 'remote-access', status: 'OK', detail: `${kept ? 'prepare-image --remote-access-only removes' : 'prepare-image removes'} the build's remote access: ${what}${also}`, fix: '' };
    return { id: 'remote-access', status: 'WARN', detail: `the build's remote access is still here: ${what}${also}`, fix: `run "winprov prepare-image" (or, last, "prepare-image --remote-access-only"), which removes it (${README})` };
  }
  if (inUse.length > 0) {
    return { id: 'remote-access', status: 'WARN', detail: inUse.join('; '), fix: `remove the other binding first if the certificate is the build's, or keep it (${README})` };
  }
  if (baseline === undefined) {
    const suspects = inventory.listeners.filter((l) => l.certificateThumbprint !== '' && !named.includes(l.certificateThumbprint) && inventory.certificates.some((c) => c.thumbprint === l.certificateThumbprint && c.hasPrivateKey));
    if (suspects.length > 0) {
      const list = suspects.map((l) => `${l.transport} ${l.address} port ${l.port} bound to ${l.certificateThumbprint}`).join(', ');
      return {
        id: 'remote-access',
        status: 'WARN',
        detail: `no baseline was recorded, and the image has WinRM listeners with a private key: ${list}`,
        fix: `if the build added them, record a baseline at the start of the build ("prepare-image --record-baseline --build-listener HTTPS") or pass --remove-certificate THUMBPRINT (${README})`,
      };
    }
  }
  return { id: 'remote-access', status: 'OK', detail: baseline === undefined ? 'no WinRM listener with a private key, and none named for removal' : `only the image's own remote access (baseline of ${baseline.recordedAt})`, fix: '' };
}

export async function preflight(config: Readonly<AgentConfig>, platform: Platform & ImageVerbs, beforePrepare: boolean): Promise<Preflight> {
  const baseline = await readBaseline(platform.stateDirectory);
  const named = config.image.removeCertificates;
  let inventory: RemoteAccessInventory;
  try {
    inventory = await platform.readRemoteAccess();
  } catch (err) {
    // A refused session cannot read anything else either: that one FAIL says why and what to change.
    if (err instanceof ExecutionPolicyBlockedError) return { findings: refusedSession(err.reason, err.hint, undefined), baseline, inventory: undefined, plan: undefined };
    throw err;
  }
  const plan = planRemoval(inventory, baseline, named);
  const remoteAccess = remoteAccessFinding(inventory, baseline, plan, beforePrepare, named, config.image.keepRemoteAccess);
  const facts = await platform.readImageFacts();
  const services = await platform.readGuestAgentServices();
  // The deferred mode's Ready comes from SetupComplete.cmd: the check after prepare-image reads it too.
  const setupComplete = beforePrepare ? undefined : await platform.readSetupComplete();
  return { findings: judgeImage(facts, services, { beforePrepare, remoteAccess, setupComplete }), baseline, inventory, plan };
}
