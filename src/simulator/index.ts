/**
 * The fabric simulator: an independent Azure WireServer and provisioning media for tests, the demo and
 * `winprov simulate`. It imports none of the agent's protocol, crypto, net or agent code, so a bug there
 * cannot hide behind the same bug here.
 */

export { FabricSimulator } from './server.ts';
export type { SimulatorOptions } from './options.ts';
export type { ExpectedCertificate, ExpectedState, ReceivedHealthReport, RecordedRequest } from './records.ts';
export type { EndpointName } from './routes.ts';
export { ENDPOINT_NAMES } from './routes.ts';
export type { FaultScript, FaultStep } from './faults.ts';
export { loadScenarioFile, resolveScenario, type ProvisioningScenario, type ScenarioFile } from './scenario.ts';
export { MEDIA_TAG_FILE } from './media.ts';
export { MAX_DESCRIPTION_BYTES } from './health-check.ts';
export { runSimulateCommand, type SimulateCommandOptions } from './cli.ts';
export { ImdsSimulator, type ImdsFault, type ImdsRequestRecord, type ImdsScenario } from './imds.ts';
