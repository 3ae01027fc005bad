import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../errors.ts';
import { validateFaultScript, type FaultScript, type KeyFailure } from './faults.ts';
import { validateImdsScenario, type ImdsScenario } from './imds.ts';

/** What the simulated VM is asked to become: the values ovf-env.xml and the goal state carry. */
export interface ProvisioningScenario {
  computerName: string;
  adminUsername: string;
  adminPassword: string;
  resetPasswordOnFirstLogon?: boolean;
  timeZone?: string;
  enableAutomaticUpdates?: boolean;
  /** 0 = the goal state has no Certificates URL. */
  certificateCount: number;
  provisionGuestAgent: boolean;
  /** Raw text; CustomData.bin gets its bytes, ovf-env.xml gets base64. */
  customData?: string;
  /** A WinRM Https listener on the first certificate. */
  winRmHttps?: boolean;
  /** AdditionalUnattendContent (oobeSystem, Microsoft-Windows-Shell-Setup): the XML Content of AutoLogon, as ARM takes it. */
  autoLogonContent?: string;
  /** The same for FirstLogonCommands. */
  firstLogonCommandsContent?: string;
}

/** A scenario file: test/fixtures/scenarios/*.json, shared by tests and `winprov simulate`. */
export interface ScenarioFile {
  description: string;
  scenario: ProvisioningScenario;
  faults: FaultScript;
  /** What `winprov simulate`'s IMDS simulator serves (user data, vmId, faults); {} when the file has no imds section. */
  imds: ImdsScenario;
}

/**
 * The most tenant certificates a scenario may ask for: the benchmark's largest row is 50. Each needs an RSA
 * key; pfx.ts pools the keys per process, so only the first simulator that asks for many pays for them.
 */
export const MAX_CERTIFICATE_COUNT = 64;

type KeyType = 'string' | 'boolean' | 'count';

const SCENARIO_KEYS: Record<keyof ProvisioningScenario, KeyType> = {
  computerName: 'string',
  adminUsername: 'string',
  adminPassword: 'string',
  resetPasswordOnFirstLogon: 'boolean',
  timeZone: 'string',
  enableAutomaticUpdates: 'boolean',
  certificateCount: 'count',
  provisionGuestAgent: 'boolean',
  customData: 'string',
  winRmHttps: 'boolean',
  autoLogonContent: 'string',
  firstLogonCommandsContent: 'string',
};

/**
 * A fresh password per run that meets the Windows complexity rule (three of upper, lower, digit, symbol),
 * so no well-known admin password ever ships with the demo.
 */
export function generateAdminPassword(): string {
  return `Wp#${randomBytes(12).toString('base64url')}9z`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks scenario overrides strictly (unknown keys, wrong types); every error names the key. */
export function validateScenario(value: unknown, fail: KeyFailure, base = 'scenario'): Partial<ProvisioningScenario> {
  if (!isObject(value)) throw fail(base, 'must be an object');
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const type = SCENARIO_KEYS[key as keyof ProvisioningScenario] as KeyType | undefined;
    if (type === undefined) throw fail(`${base}.${key}`, `is not a scenario key (${Object.keys(SCENARIO_KEYS).join(', ')})`);
    if (v === undefined) continue;
    if (type === 'count') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_CERTIFICATE_COUNT) {
        throw fail(`${base}.${key}`, `must be an integer 0-${MAX_CERTIFICATE_COUNT}`);
      }
    } else if (typeof v !== type) {
      throw fail(`${base}.${key}`, `must be a ${type}`);
    }
    out[key] = v;
  }
  return out as Partial<ProvisioningScenario>;
}

/** The scenario with defaults filled in: winprov-demo / azureuser / a generated password / one certificate / guest agent on. */
export function resolveScenario(overrides: Partial<ProvisioningScenario> = {}, fail: KeyFailure = optionFailure): ProvisioningScenario {
  const checked = validateScenario(overrides, fail);
  const scenario: ProvisioningScenario = {
    computerName: 'winprov-demo',
    adminUsername: 'azureuser',
    adminPassword: checked.adminPassword ?? generateAdminPassword(),
    certificateCount: 1,
    provisionGuestAgent: true,
    ...checked,
  };
  // The Https listener names the first certificate's thumbprint: without certificates there is nothing to name.
  if (scenario.winRmHttps === true && scenario.certificateCount < 1) {
    throw fail('scenario.winRmHttps', 'needs certificateCount of at least 1 (the listener uses the first certificate)');
  }
  return scenario;
}

function optionFailure(key: string, rule: string): Error {
  return new UsageError(`simulator option ${key}: ${rule}`);
}

/**
 * Reads and validates a scenario file strictly: `{ "description", "scenario"?, "faults"?, "imds"? }`. Unknown
 * keys and wrong types are errors that name the key (e.g. `faults.endpoints.goalstate[0].retryAfter`,
 * `imds.faults[1].status`).
 */
const FILE_KEYS = ['description', 'scenario', 'faults', 'imds'];

export function loadScenarioFile(path: string): ScenarioFile {
  const name = basename(path);
  const fail: KeyFailure = (key, rule) =>
    new UsageError(`scenario file ${name}: ${key} ${rule}`, { hint: 'see test/fixtures/scenarios/ for examples of the format' });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(`scenario file ${name}: cannot be read (${code})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw fail('(file)', `is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw fail('(file)', 'must be a JSON object');
  for (const key of Object.keys(json)) {
    if (!FILE_KEYS.includes(key)) throw fail(key, `is not a key (${FILE_KEYS.join(', ')})`);
  }
  if (typeof json.description !== 'string' || json.description.trim() === '') throw fail('description', 'must be a non-empty string');
  const scenario = resolveScenario(validateScenario(json.scenario ?? {}, fail), fail);
  const faults = json.faults === undefined ? {} : validateFaultScript(json.faults, fail);
  const imds = json.imds === undefined ? {} : validateImdsScenario(json.imds, fail);
  return { description: json.description, scenario, faults, imds };
}
