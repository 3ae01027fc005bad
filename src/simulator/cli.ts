import { ConfigError, UsageError } from '../errors.ts';
import { loadScenarioFile, type ProvisioningScenario } from './scenario.ts';
import type { ReceivedHealthReport, RecordedRequest } from './records.ts';
import { FabricSimulator } from './server.ts';
import { ImdsSimulator, type ImdsRequestRecord } from './imds.ts';

/** The options of `winprov simulate`, already parsed by main.ts. */
export interface SimulateCommandOptions {
  host: string;
  port: number;
  /** The IMDS simulator's own port (0, the default: an ephemeral one), on the same host. */
  imdsPort?: number;
  /** A scenario file (test/fixtures/scenarios/*.json): scenario values and fault script. */
  scenarioFile?: string;
  /** Where to write the provisioning media (ovf-env.xml, tag file, CustomData.bin). */
  mediaDir?: string;
  /** Values that override the scenario file's. */
  scenario?: Partial<ProvisioningScenario>;
}

const MAX_PRINTED_DESCRIPTION = 160;

/** One human line for a request: time, method, path, endpoint and the fault played. */
export function formatRequest(request: RecordedRequest): string {
  const endpoint = request.endpoint ?? 'no such endpoint: 404';
  const fault = request.fault === undefined ? '' : ` [fault: ${request.fault}]`;
  return `+${request.at}ms ${request.method} ${request.path} (${endpoint})${fault}`;
}

/** One human line for an IMDS request: time, method, path, the answer and the fault played. */
export function formatImdsRequest(request: ImdsRequestRecord): string {
  const answer = typeof request.answered === 'number' ? String(request.answered) : request.answered === 'reset' ? 'connection reset' : 'no answer (hang)';
  const fault = request.fault === undefined ? '' : ` [fault: ${request.fault}]`;
  return `+${request.at}ms IMDS ${request.method} ${request.path}: ${answer}${fault}`;
}

/** One human line for a health report: state, incarnation and the verdict. */
export function formatHealthReport(report: ReceivedHealthReport): string {
  const state = report.subStatus === undefined ? report.state || '(unreadable)' : `${report.state}/${report.subStatus}`;
  const oneLine = (report.description ?? '').replace(/\s+/g, ' ').trim();
  const description =
    oneLine === '' ? '' : ` "${oneLine.length > MAX_PRINTED_DESCRIPTION ? `${oneLine.slice(0, MAX_PRINTED_DESCRIPTION)}...` : oneLine}"`;
  const verdict = report.accepted ? `accepted (${report.httpStatus})` : `refused ${report.httpStatus}: ${report.reason ?? ''}`;
  return `+${report.at}ms health report ${state}${description} for incarnation ${report.incarnation || '?'}: ${verdict}`;
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * `winprov simulate`: runs a fabric simulator and, on its own port, an IMDS simulator (the scenario file's
 * `imds` section: user data, vmId, faults) until the signal aborts, writing the media if asked and printing
 * both URLs, then one line per request and per health report.
 */
export async function runSimulateCommand(options: SimulateCommandOptions, print: (line: string) => void, signal: AbortSignal): Promise<void> {
  const file = options.scenarioFile === undefined ? undefined : loadScenarioFile(options.scenarioFile);
  if (signal.aborted) return;
  const simulator = new FabricSimulator({
    host: options.host,
    port: options.port,
    scenario: { ...file?.scenario, ...definedOnly(options.scenario ?? {}) },
    faults: file?.faults ?? {},
    onRequest: (request) => print(formatRequest(request)),
    onHealthReport: (report) => print(formatHealthReport(report)),
  });
  const imds = new ImdsSimulator(file?.imds ?? {}, { host: options.host, onRequest: (request) => print(formatImdsRequest(request)) });
  await simulator.start();
  let imdsUrl: string;
  try {
    imdsUrl = await imds.start(options.imdsPort ?? 0);
  } catch (err) {
    await simulator.stop();
    throw imdsListenError(err, options.host, options.imdsPort ?? 0);
  }
  try {
    if (file !== undefined) print(`scenario: ${file.description}`);
    if (options.mediaDir !== undefined) {
      if (options.mediaDir === '') throw new ConfigError('media', 'must name a folder (--media DIR)');
      await simulator.writeProvisioningMedia(options.mediaDir).catch((err: NodeJS.ErrnoException) => {
        throw new ConfigError('media', `cannot write the provisioning media to ${options.mediaDir}: ${err.code ?? 'error'}`);
      });
      print(`provisioning media written to ${options.mediaDir}`);
    }
    const unavailable = file?.faults.unavailableForMs ?? 0;
    print(`fabric simulator listening on ${simulator.url}${unavailable > 0 ? ` (refusing connections for the first ${unavailable} ms)` : ''}`);
    const { userData, notFound, faults } = file?.imds ?? {};
    const serves = notFound === true ? 'answering 404 to everything' : userData === undefined ? 'no user data' : `user data of ${userData.length} base64 characters`;
    print(`IMDS simulator listening on ${imdsUrl} (${serves}${faults?.length ? `, ${faults.length} scripted fault(s)` : ''}; winprov.json "imdsAddress": "${imdsUrl}")`);
    const { containerId, instanceId, incarnation, certificates } = simulator.expected;
    const { computerName, adminUsername } = simulator.scenario;
    print(`VM ${computerName}, admin ${adminUsername}, container ${containerId}, role instance ${instanceId}, incarnation ${incarnation}, ${certificates.length} certificate(s)`);
    await aborted(signal);
  } finally {
    await imds.stop();
    await simulator.stop();
    print('fabric simulator stopped');
  }
}

/** As the fabric simulator names its listen failure (server.ts), a UsageError naming host and port. */
function imdsListenError(err: unknown, host: string, port: number): Error {
  const error = err as NodeJS.ErrnoException;
  return new UsageError(`the IMDS simulator cannot listen on ${host}:${port} (${error.code ?? error.message})`, { cause: err, hint: 'choose another --imds-port, or 0 for a free one' });
}
