import { PlatformCommandError, PlatformRejectedError, type AgentError } from '../../errors.ts';
import type { HostFailure } from './protocol.ts';

/**
 * Turns PowerShell's description of a failed request into winprov's errors: PlatformRejectedError when
 * Windows refused a value for a rule of its own (password policy, invalid name), PlatformCommandError
 * otherwise. The text is PowerShell's own (often localized) message plus the language-neutral ids
 * (FullyQualifiedErrorId, Win32 code, HRESULT), with every secret of the request removed.
 */

const REDACTED = '[redacted]';
const MAX_DETAIL = 700;

/** NERR_PasswordTooShort: NetUserAdd/NetUserSetInfo's code for any password-policy refusal (length, complexity, history). */
const NERR_PASSWORD_TOO_SHORT = 2245;
/** Codes Win32_ComputerSystem.Rename returns for a name Windows refuses. */
const INVALID_NAME_CODES = new Set([
  87, // ERROR_INVALID_PARAMETER
  123, // ERROR_INVALID_NAME
  1210, // ERROR_INVALID_COMPUTERNAME
]);

/**
 * The texts to look for of a secret a request carries: a string as it is, and every secret as the base64 it
 * travels in; bytes that are valid UTF-8 (custom data) as that text too, since PowerShell could print it
 * decoded. Nothing for an empty one.
 */
export function secretTexts(value: string | Uint8Array): string[] {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  if (bytes.length === 0) return [];
  const texts = [bytes.toString('base64')];
  if (typeof value === 'string') texts.push(value);
  else {
    try {
      texts.push(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      // Not text (a PFX): its base64 is what can come back.
    }
  }
  return texts;
}

/** A line of a multi-line secret shorter than this is not looked for on its own: it would redact common words. */
const MIN_FRAGMENT = 8;

/**
 * The forms in which a secret can reach text read back from PowerShell: as sent, JSON-escaped, with its
 * whitespace runs collapsed to one space (describeFailure and readableStderr reshape text that way), and
 * each line of a multi-line one (output is read line by line); the longest first.
 */
function secretForms(secret: string): string[] {
  const forms = new Set([secret, JSON.stringify(secret).slice(1, -1), secret.replace(/\s+/g, ' ').trim()]);
  for (const line of secret.split(/\r\n|\r|\n/)) {
    if (line.trim().length >= MIN_FRAGMENT) forms.add(line.trim());
  }
  return [...forms].filter((form) => form !== '').sort((a, b) => b.length - a.length);
}

/** Replaces every form of each secret (secretForms) by "[redacted]". */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    for (const form of secretForms(secret)) out = out.split(form).join(REDACTED);
  }
  return out;
}

/** PowerShell's message on one line, followed by the ids that classify it. */
export function describeFailure(failure: HostFailure): string {
  const ids: string[] = [];
  if (failure.fullyQualifiedErrorId) ids.push(failure.fullyQualifiedErrorId);
  if (failure.win32 !== undefined && failure.win32 !== null) ids.push(`Win32 ${failure.win32}`);
  if (failure.ntStatus !== undefined && failure.ntStatus !== null) ids.push(`NTSTATUS 0x${hex32(failure.ntStatus)}`);
  if (failure.hresult !== undefined && failure.hresult !== 0) ids.push(`HRESULT 0x${hex32(failure.hresult)}`);
  const message = failure.message.replace(/\s+/g, ' ').trim();
  const text = ids.length > 0 ? `${message} [${ids.join('; ')}]` : message;
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text;
}

function hex32(value: number): string {
  return (value >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

function hasErrorName(failure: HostFailure, name: string): boolean {
  // LocalAccounts cmdlets use the exception's name minus "Exception" as the error id.
  return (failure.fullyQualifiedErrorId ?? '').startsWith(`${name},`) || (failure.exceptionTypes ?? []).some((type) => type.endsWith(`.${name}Exception`));
}

/** The rule Windows applied, when the failure is a refusal of the request's value. */
export function rejectionRule(verb: string, failure: HostFailure): string | undefined {
  if (failure.rule) return failure.rule;
  if (verb === 'ensureAdminAccount') {
    if (hasErrorName(failure, 'InvalidPassword') || failure.win32 === NERR_PASSWORD_TOO_SHORT) {
      return `the password does not meet this Windows' password policy (length, complexity or history; NERR_PasswordTooShort ${NERR_PASSWORD_TOO_SHORT})`;
    }
    if (hasErrorName(failure, 'InvalidName')) return 'the user name is not a valid Windows account name';
    if (hasErrorName(failure, 'NameInUse')) return 'the user name is already the name of a local group';
  }
  if (verb === 'setComputerName' && failure.win32 !== undefined && failure.win32 !== null && INVALID_NAME_CODES.has(failure.win32)) {
    return `Windows refused the computer name (Win32 error ${failure.win32})`;
  }
  return undefined;
}

/** The winprov error for a failed request; the secrets never appear in it. */
export function toPlatformError(verb: string, failure: HostFailure, secrets: readonly string[]): AgentError {
  // Scrubbed before describeFailure reshapes and cuts the message, and again after, for the reshaped forms.
  const detail = scrubSecrets(describeFailure({ ...failure, message: scrubSecrets(failure.message, secrets) }), secrets);
  const context = {
    fullyQualifiedErrorId: failure.fullyQualifiedErrorId === undefined ? undefined : scrubSecrets(failure.fullyQualifiedErrorId, secrets),
    win32: failure.win32 ?? undefined,
    hresult: failure.hresult,
  };
  const rule = rejectionRule(verb, failure);
  if (rule !== undefined) return new PlatformRejectedError(verb, `${scrubSecrets(rule, secrets)} (Windows: ${detail})`, { context });
  return new PlatformCommandError(verb, detail, { context });
}
