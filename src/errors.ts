/**
 * Every failure winprov can report, as classes with a stable code, a reason (what happened, naming the
 * field and the rule where there is one) and a hint (what the user should do). main.ts is the one place
 * that turns an error into a ProvisioningFailed report and an exit code.
 */

export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'UNSUPPORTED_PLATFORM'
  | 'OVF_INVALID'
  | 'MEDIA_NOT_FOUND'
  | 'FABRIC_DOCUMENT_INVALID'
  | 'FABRIC_VERSION_UNSUPPORTED'
  | 'WIRESERVER_UNREACHABLE'
  | 'WIRESERVER_HTTP'
  | 'WIRESERVER_TIMEOUT'
  | 'DEADLINE_EXCEEDED'
  | 'GOAL_STATE_CHANGED'
  | 'CERTIFICATE_DECRYPT_FAILED'
  | 'DHCP_DISABLED'
  | 'PLATFORM_REJECTED'
  | 'PLATFORM_COMMAND_FAILED'
  | 'STATE_INVALID'
  | 'PLATFORM_TIMEOUT'
  | 'READY_UNCONFIRMED'
  | 'RUN_LOCKED'
  | 'EXECUTION_POLICY_BLOCKED'
  | 'FILE_BUSY'
  | 'IMAGE_CHECK_FAILED'
  | 'UNHANDLED';

export type ErrorContext = Record<string, string | number | boolean | undefined>;

export interface AgentErrorOptions {
  hint?: string;
  cause?: unknown;
  context?: ErrorContext;
}

/** Exit codes, documented in README. 0 is success; 1 is reserved for the unexpected. */
export const EXIT_CODES = {
  ok: 0,
  unhandled: 1,
  usage: 2,
  input: 3,
  fabric: 4,
  platform: 5,
  notProvisioned: 6,
  lastRunFailed: 7,
  locked: 8,
  imageCheck: 9,
} as const;

export class AgentError extends Error {
  readonly code: ErrorCode;
  /** One sentence: what went wrong, naming the field and the rule where there is one. Never a secret. */
  readonly reason: string;
  /** What the user can do about it. */
  readonly hint: string;
  readonly context: ErrorContext;
  readonly exitCode: number;

  constructor(code: ErrorCode, reason: string, exitCode: number, options: AgentErrorOptions = {}) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reason = reason;
    this.hint = options.hint ?? '';
    this.context = options.context ?? {};
    this.exitCode = exitCode;
    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: false });
  }

  /** The reason and the hint as one line, for the console, the log and the health report. */
  describe(): string {
    return this.hint ? `${this.reason} (${this.hint})` : this.reason;
  }
}

/** Wrong command line or configuration file. */
export class UsageError extends AgentError {
  constructor(reason: string, options: AgentErrorOptions = {}) {
    super('USAGE', reason, EXIT_CODES.usage, { hint: 'run "winprov --help"', ...options });
  }
}

export class ConfigError extends AgentError {
  constructor(field: string, rule: string, options: AgentErrorOptions = {}) {
    super('CONFIG_INVALID', `configuration ${field}: ${rule}`, EXIT_CODES.usage, {
      hint: 'fix the option, environment variable or winprov.json entry named',
      ...options,
      context: { field, ...options.context },
    });
  }
}

export class UnsupportedPlatformError extends AgentError {
  constructor(reason: string, options: AgentErrorOptions = {}) {
    super('UNSUPPORTED_PLATFORM', reason, EXIT_CODES.usage, {
      hint: 'winprov changes Windows only on Windows; elsewhere run it with --platform sandbox --sandbox DIR',
      ...options,
    });
  }
}

/** ovf-env.xml (the user's provisioning configuration) breaks a rule; the reason names the field. */
export class OvfError extends AgentError {
  readonly field: string;
  constructor(field: string, rule: string, options: AgentErrorOptions = {}) {
    super('OVF_INVALID', `ovf-env.xml ${field}: ${rule}`, EXIT_CODES.input, {
      hint: 'correct the value in the VM definition (osProfile) and redeploy',
      ...options,
      context: { field, ...options.context },
    });
    this.field = field;
  }
}

export class MediaNotFoundError extends AgentError {
  constructor(reason: string, options: AgentErrorOptions = {}) {
    super('MEDIA_NOT_FOUND', reason, EXIT_CODES.input, {
      hint: 'the VM must be deployed from a generalized image on Azure, which attaches the provisioning media',
      ...options,
    });
  }
}

/** A document from the fabric (goal state, versions, certificates ...) is malformed or hostile. */
export class FabricDocumentError extends AgentError {
  readonly document: string;
  readonly field: string;
  constructor(document: string, field: string, rule: string, options: AgentErrorOptions = {}) {
    super('FABRIC_DOCUMENT_INVALID', `${document} ${field}: ${rule}`, EXIT_CODES.fabric, {
      hint: 'the fabric sent a document winprov cannot use; redeploy the VM, and report it if it persists',
      ...options,
      context: { document, field, ...options.context },
    });
    this.document = document;
    this.field = field;
  }
}

export class FabricVersionError extends AgentError {
  constructor(offered: readonly string[], options: AgentErrorOptions = {}) {
    super(
      'FABRIC_VERSION_UNSUPPORTED',
      `the fabric offers protocol versions [${offered.join(', ')}], none of 2015-04-05 or 2012-11-30`,
      EXIT_CODES.fabric,
      { hint: 'the endpoint is probably not an Azure WireServer; check --fabric', ...options },
    );
  }
}

const WIRESERVER_HINTS = {
  WIRESERVER_UNREACHABLE: 'check that the VM can reach the WireServer on port 80 (NSG, firewall, routes, DHCP)',
  WIRESERVER_TIMEOUT: 'the WireServer accepted but did not answer in time; check routes and any guest firewall',
  WIRESERVER_HTTP: 'the WireServer refused the request; redeploy the VM, and report it if it persists',
  DEADLINE_EXCEEDED: 'the fabric did not answer within the run deadline (--deadline); check connectivity to the WireServer',
  GOAL_STATE_CHANGED: 'the goal state changed while provisioning; it is fetched again',
} as const;

/** Failures talking to the WireServer. */
export class WireServerError extends AgentError {
  readonly url: string;
  readonly status: number | undefined;
  constructor(
    code: 'WIRESERVER_UNREACHABLE' | 'WIRESERVER_HTTP' | 'WIRESERVER_TIMEOUT' | 'DEADLINE_EXCEEDED' | 'GOAL_STATE_CHANGED',
    reason: string,
    url: string,
    options: AgentErrorOptions & { status?: number } = {},
  ) {
    super(code, reason, EXIT_CODES.fabric, {
      hint: WIRESERVER_HINTS[code],
      ...options,
      context: { url, status: options.status, ...options.context },
    });
    this.url = url;
    this.status = options.status;
  }
}

export class CertificateError extends AgentError {
  constructor(reason: string, options: AgentErrorOptions = {}) {
    super('CERTIFICATE_DECRYPT_FAILED', reason, EXIT_CODES.fabric, {
      hint: 'the certificates blob from the fabric could not be decrypted with the transport key',
      ...options,
    });
  }
}

/**
 * The certificates blob asks for a key derivation, or an amount of derivation work, that no fabric PFX
 * needs (issue "Hold up against a hostile or broken fabric"): refused before the work is done, and not
 * tried again with another cipher or password.
 */
export class CertificateRefusedError extends CertificateError {
  constructor(reason: string, options: AgentErrorOptions = {}) {
    super(reason, {
      hint: 'the certificates blob is broken or was tampered with on the way (the transport certificate travels in the clear); redeploy the VM, and report it if it persists',
      ...options,
    });
  }
}

/** Decrypting the certificates was still running when the run's deadline passed; it stops between two key derivations. */
export class CertificateDeadlineError extends AgentError {
  constructor(deadline: number, options: AgentErrorOptions = {}) {
    super('DEADLINE_EXCEEDED', `decrypting the certificates was stopped: the run deadline ${new Date(deadline).toISOString()} passed`, EXIT_CODES.fabric, {
      hint: 'the certificates blob needed more time than the run had left (--deadline); redeploy the VM, and report it if it persists',
      ...options,
    });
  }
}

export class DhcpDisabledError extends AgentError {
  constructor(interfaceName: string, options: AgentErrorOptions = {}) {
    super('DHCP_DISABLED', `DHCP is disabled on ${interfaceName}, the interface that reaches the fabric`, EXIT_CODES.platform, {
      hint: 'Azure requires DHCP inside the guest: set static addresses on the NIC in Azure, not inside Windows, or run without --no-repair-dhcp',
      ...options,
      context: { interface: interfaceName, ...options.context },
    });
  }
}

/** The OS refused an operation for a rule of its own (password policy, invalid name, ...). */
export class PlatformRejectedError extends AgentError {
  constructor(verb: string, rule: string, options: AgentErrorOptions = {}) {
    super('PLATFORM_REJECTED', `${verb}: ${rule}`, EXIT_CODES.platform, {
      hint: 'Windows rejected the value; correct it in the VM definition',
      ...options,
      context: { verb, ...options.context },
    });
  }
}

/** A command (PowerShell, registry ...) failed. The detail is the tool's own error text, never a secret. */
export class PlatformCommandError extends AgentError {
  constructor(verb: string, detail: string, options: AgentErrorOptions = {}) {
    super('PLATFORM_COMMAND_FAILED', `${verb} failed: ${detail}`, EXIT_CODES.platform, {
      hint: 'see the winprov log for the command and its output',
      ...options,
      context: { verb, ...options.context },
    });
  }
}

export class StateError extends AgentError {
  constructor(reason: string, options: AgentErrorOptions = {}) {
    super('STATE_INVALID', reason, EXIT_CODES.platform, {
      hint: 'the agent state folder is damaged; "winprov prepare-image" resets it',
      ...options,
    });
  }
}

/** A local operation (media read, PowerShell request) did not finish before the run's deadline. */
export class PlatformTimeoutError extends AgentError {
  constructor(verb: string, deadline: number, options: AgentErrorOptions = {}) {
    super('PLATFORM_TIMEOUT', `${verb} did not finish before the run deadline ${new Date(deadline).toISOString()}`, EXIT_CODES.platform, {
      hint: 'a drive or a Windows command hung; the winprov log shows which, and how long it had',
      ...options,
      context: { verb, ...options.context },
    });
  }
}

/**
 * Ready was sent after the completion marker, but no acknowledgement arrived before the grace period
 * ended. `probablyAccepted`: at least one attempt reached the fabric and only its answer was lost.
 */
export class ReadyUnconfirmedError extends AgentError {
  readonly probablyAccepted: boolean;
  constructor(reason: string, probablyAccepted: boolean, options: AgentErrorOptions = {}) {
    super('READY_UNCONFIRMED', reason, EXIT_CODES.fabric, {
      hint: probablyAccepted
        ? 'the fabric probably accepted Ready; check the VM in Azure, and run "winprov provision" again to resend it'
        : 'the fabric did not take Ready; run "winprov provision" again to resend it (nothing is applied again)',
      ...options,
      context: { probablyAccepted, ...options.context },
    });
    this.probablyAccepted = probablyAccepted;
  }
}

/** Another winprov run holds the state folder's lock (issue "Hold up against a hostile or broken fabric"). */
export class RunLockedError extends AgentError {
  constructor(reason: string, options: AgentErrorOptions = {}) {
    super('RUN_LOCKED', reason, EXIT_CODES.locked, {
      hint: 'one run at a time: wait for the other run to end; a lock left by a killed run is taken over automatically',
      ...options,
    });
  }
}

/**
 * A Group Policy execution policy (MachinePolicy or UserPolicy scope) overrides powershell.exe's
 * -ExecutionPolicy Bypass, and under it the CDXML network modules fail to load with an error naming none
 * of this (PowerShell/PowerShell#13096): bootstrap.ps1 reads the policy first and refuses the session.
 */
export class ExecutionPolicyBlockedError extends AgentError {
  constructor(scope: string, policy: string, options: AgentErrorOptions = {}) {
    super('EXECUTION_POLICY_BLOCKED', `Group Policy sets the PowerShell execution policy to ${policy} (${scope} scope), which overrides -ExecutionPolicy Bypass; Windows' CDXML modules (NetTCPIP, NetSecurity ...) cannot load under it`, EXIT_CODES.platform, {
      hint: 'set "Turn on Script Execution" (Computer Configuration > Administrative Templates > Windows Components > Windows PowerShell) to Not Configured, or to "Allow local scripts and remote signed scripts", for this image',
      ...options,
      context: { scope, policy, ...options.context },
    });
  }
}

/**
 * A file winprov wrote stayed locked past the retry bound of its atomic rename (util/files.ts): antivirus
 * or the search indexer held it, as graceful-fs retries for.
 */
export class FileBusyError extends AgentError {
  constructor(path: string, code: string, elapsedMs: number, options: AgentErrorOptions = {}) {
    super('FILE_BUSY', `${path} could not be replaced: the rename failed with ${code} for ${Math.round(elapsedMs / 100) / 10} s`, EXIT_CODES.platform, {
      hint: 'another program (antivirus, the search indexer, a backup agent) keeps the file open; exclude the folder from scanning, or close that program, and run again',
      ...options,
      context: { path, errno: code, elapsedMs, ...options.context },
    });
  }
}

/** prepare-image --check (or the check at the start of prepare-image) found something that makes sysprep or the first boot fail. */
export class ImageCheckFailedError extends AgentError {
  constructor(failures: readonly string[], options: AgentErrorOptions = {}) {
    super('IMAGE_CHECK_FAILED', `the image is not ready for sysprep: ${failures.join('; ')}`, EXIT_CODES.imageCheck, {
      hint: 'fix each FAIL as its line says and run "winprov prepare-image --check" again; --force goes on regardless',
      ...options,
    });
  }
}

/**
 * The same failure, said with what a command of several changes had done when it stopped and what it had
 * not (prepare-image), so that a half-prepared image is never taken for a prepared one. The code and the
 * exit code stay those of the failure.
 */
export function stoppedPartway(err: unknown, command: string, done: readonly string[], notDone: readonly string[], then: string): AgentError {
  const e = toAgentError(err);
  const progress = `${command} stopped: done: ${done.join(', ') || 'nothing'}; not done: ${notDone.join(', ')}`;
  return new AgentError(e.code, `${e.reason}; ${progress}`, e.exitCode, { hint: e.hint ? `${e.hint}; then ${then}` : then, cause: e, context: e.context });
}

/** Anything that is not an AgentError becomes one, with a short message and no stack. */
export function toAgentError(err: unknown): AgentError {
  if (err instanceof AgentError) return err;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new AgentError('UNHANDLED', `unexpected error: ${message.slice(0, 300)}`, EXIT_CODES.unhandled, {
    hint: 'this is a bug in winprov; the log has the details',
    cause: err,
  });
}
