import { UsageError } from '../errors.ts';
import { isCipherName, type EnvelopeOptions } from './certificates.ts';
import { validateFaultScript, type FaultScript, type KeyFailure } from './faults.ts';
import type { ReceivedHealthReport, RecordedRequest } from './records.ts';
import { resolveScenario, type ProvisioningScenario } from './scenario.ts';

/** How to run a simulator: where to listen, what VM to describe, and which faults to play. */
export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Missing values take the defaults of resolveScenario(). */
  scenario?: Partial<ProvisioningScenario>;
  faults?: FaultScript;
  /** Default rsaes-pkcs1-v1_5, as in the fabric's samples. */
  keyTransport?: EnvelopeOptions['keyTransport'];
  /** Default subjectKeyIdentifier, as the real fabric addresses the transport certificate. */
  recipientId?: EnvelopeOptions['recipientId'];
  /** x-ms-cipher-name values served; default AES128_CBC and DES_EDE3_CBC. */
  supportedCiphers?: string[];
  /** Called for every request as it arrives (for `winprov simulate` output). */
  onRequest?: (request: RecordedRequest) => void;
  /** Called for every health report once judged. */
  onHealthReport?: (report: ReceivedHealthReport) => void;
}

/** Options with every default applied and every value checked. */
export interface ResolvedOptions {
  host: string;
  port: number;
  scenario: ProvisioningScenario;
  faults: FaultScript;
  envelope: EnvelopeOptions;
  supportedCiphers: readonly string[];
  onRequest: ((request: RecordedRequest) => void) | undefined;
  onHealthReport: ((report: ReceivedHealthReport) => void) | undefined;
}

const fail: KeyFailure = (key, rule) => new UsageError(`simulator option ${key}: ${rule}`);

/** Applies defaults and checks the options; a bad one is a UsageError naming it. */
export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw fail('port', 'must be an integer 0-65535');
  const host = options.host ?? '127.0.0.1';
  if (host.trim() === '') throw fail('host', 'must not be empty');
  const keyTransport = options.keyTransport ?? 'rsaes-pkcs1-v1_5';
  if (keyTransport !== 'rsaes-pkcs1-v1_5' && keyTransport !== 'rsaes-oaep-sha1') throw fail('keyTransport', 'must be rsaes-pkcs1-v1_5 or rsaes-oaep-sha1');
  const recipientId = options.recipientId ?? 'subjectKeyIdentifier';
  if (recipientId !== 'subjectKeyIdentifier' && recipientId !== 'issuerAndSerialNumber') {
    throw fail('recipientId', 'must be subjectKeyIdentifier or issuerAndSerialNumber');
  }
  const supportedCiphers = options.supportedCiphers ?? ['AES128_CBC', 'DES_EDE3_CBC'];
  for (const name of supportedCiphers) {
    if (!isCipherName(name)) throw fail('supportedCiphers', `${name} is not a cipher name (AES128_CBC, AES192_CBC, AES256_CBC, DES_EDE3_CBC)`);
  }
  return {
    host,
    port,
    scenario: resolveScenario(options.scenario ?? {}, fail),
    faults: validateFaultScript(options.faults ?? {}, fail),
    envelope: { keyTransport, recipientId },
    supportedCiphers: [...supportedCiphers],
    onRequest: options.onRequest,
    onHealthReport: options.onHealthReport,
  };
}
