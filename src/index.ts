/**
 * winprov as a library: the provisioning run, the fabric simulator, and the pure pieces users and tests
 * reach for (ovf-env.xml parsing, certificate decryption, the DHCP codec). Importing it does nothing.
 */

export { provision, DEFAULT_RUN_SETTINGS, type ProvisionOptions, type ProvisionResult, type RunSettings } from './agent.ts';
export { FabricSimulator, loadScenarioFile, type SimulatorOptions, type ProvisioningScenario, type FaultScript, type FaultStep } from './simulator/index.ts';
export { parseOvfEnv, redactOvfEnv, type ProvisioningConfig } from './protocol/ovf-env.ts';
export { decryptCertificateFile } from './crypto/certificate-file.ts';
export type { DecryptedCertificate } from './crypto/pkcs12.ts';
export { decodeDhcpPacket, wireServerFromDhcpReply, type DhcpPacket } from './net/dhcp.ts';
export { parseDhcpInterfaceOptions, wireServerFromInterfaceOptions } from './net/dhcp-cache.ts';
export { SandboxPlatform } from './platform/sandbox/index.ts';
export type { Platform } from './platform/platform.ts';
export { AgentError, EXIT_CODES, type ErrorCode } from './errors.ts';
export { Secret } from './util/secret.ts';
export { createLog, type Log } from './util/log.ts';
