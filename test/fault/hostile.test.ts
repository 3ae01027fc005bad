import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AgentError, EXIT_CODES } from '../../src/errors.ts';
import { parseOvfEnv, redactOvfEnv } from '../../src/protocol/ovf-env.ts';
import { chooseProtocolVersion, parseVersions } from '../../src/protocol/versions.ts';
import { parseGoalState } from '../../src/protocol/goal-state.ts';
import { parseHostingEnvironmentConfig } from '../../src/protocol/hosting-env.ts';
import { openCertificateFile } from '../../src/crypto/certificate-file.ts';
import { createTransportCertificate } from '../../src/crypto/transport-cert.ts';
import { WireClient } from '../../src/net/wire-client.ts';
import { passwordMatches } from '../../src/platform/sandbox/index.ts';
import { ADMINISTRATORS_SID } from '../../src/platform/sandbox/machine.ts';
import type { FaultScript } from '../../src/simulator/index.ts';
import { provisioningFixture, type ProvisioningFixture } from '../helpers/provisioning.ts';
import { FABRIC_CASES, NOT_WELL_FORMED_CASES, OVF_CASES, PASSWORD, VERBATIM_CASES, ovfEnv, x, type HostileCase } from './hostile-corpus.ts';
import { MAIN, REPO_ROOT, assertEnd } from './support.ts';

/**
 * The hostile input corpus against the parsers directly and against the whole agent: ovf-env.xml through
 * the provisioning media, fabric documents through the simulator (a status-200 step serves any body).
 * Every case must end in a clear error naming the field, within a bound, with nothing applied, and the
 * process never prints a stack trace.
 */

const transport = await createTransportCertificate();
const RUN = { connectTimeoutMs: 1_000, readTimeoutMs: 2_000, failureReportGraceMs: 3_000, deadlineMs: 15_000 };
const STACK_LINE = /^\s{4}at /m;

/** The document's own parser (and, for the goal state, the wire client's URL rule); returns what it threw. */
async function parseDirectly(c: HostileCase): Promise<unknown> {
  try {
    switch (c.document) {
      case 'ovf-env':
        parseOvfEnv(c.body);
        break;
      case 'versions':
        chooseProtocolVersion(parseVersions(c.body));
        break;
      case 'goalstate': {
        const url = parseGoalState(c.body).roleInstance?.certificatesUrl;
        const client = new WireClient({ baseUrl: 'http://127.0.0.1:9', agentVersion: 'test', connectTimeoutMs: 200, readTimeoutMs: 200, maxResponseBytes: 1024, deadline: Date.now() + 1_000, readPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1, jitter: 0 } });
        if (url !== undefined) await client.certificates(url, transport.headerValue, 'AES128_CBC');
        break;
      }
      case 'hostingEnvironmentConfig':
        parseHostingEnvironmentConfig(c.body);
        break;
      case 'certificates':
        openCertificateFile(c.body, { keyPem: transport.keyPem, certPem: transport.certPem });
        break;
    }
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Serves the hostile body in place of the document (twice for the certificates: one per cipher). */
function faultsFor(c: HostileCase): FaultScript {
  if (c.document === 'ovf-env') return {};
  const body = typeof c.body === 'string' ? c.body : Buffer.from(c.body).toString('utf8');
  const steps = c.document === 'certificates' ? [{ status: 200, body }, { status: 200, body }] : [{ status: 200, body }];
  return { endpoints: { [c.document]: steps } };
}

async function hostileFixture(c: HostileCase): Promise<ProvisioningFixture> {
  const needsCertificates = c.document === 'certificates' || c.document === 'hostingEnvironmentConfig';
  const fx = await provisioningFixture({ scenario: { certificateCount: needsCertificates ? 1 : 0, adminPassword: PASSWORD }, faults: faultsFor(c) });
  if (c.document === 'ovf-env') await writeFile(join(fx.sandboxRoot, 'drives', 'D', 'ovf-env.xml'), c.body);
  return fx;
}

const ALL = [...OVF_CASES, ...FABRIC_CASES, ...NOT_WELL_FORMED_CASES];

test('the corpus holds at least 60 hostile documents over every document kind', () => {
  assert.ok(ALL.length >= 60, `${ALL.length} cases`);
  assert.deepEqual([...new Set(ALL.map((c) => c.document))].sort(), ['certificates', 'goalstate', 'hostingEnvironmentConfig', 'ovf-env', 'versions']);
  assert.equal(new Set(ALL.map((c) => c.name)).size, ALL.length, 'case names are unique');
});

describe('hostile documents', { concurrency: 8 }, () => {
  for (const c of ALL) {
    test(`${c.name}: ${c.code}`, { timeout: 30_000 }, async () => {
      // The parser alone: a typed error naming the field, quickly, without the password.
      const started = performance.now();
      const err = await parseDirectly(c);
      const parseMs = performance.now() - started;
      assert.ok(err instanceof AgentError, `an AgentError, not ${String(err)}`);
      assert.equal(err.code, c.code, err.reason);
      assert.match(err.reason, c.reason);
      assert.ok(!err.message.includes(PASSWORD), 'the password is not in the message');
      assert.ok(parseMs < 2_000, `parsed in ${Math.round(parseMs)} ms`);
      if (c.document === 'ovf-env') {
        const copy = redactOvfEnv(c.body);
        assert.ok(!copy.includes(PASSWORD), 'the saved copy never holds the password');
      }
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype was polluted');
      if (c.parserOnly) return;

      // The whole agent: one ProvisioningFailed naming the field, nothing applied, within a bound.
      const fx = await hostileFixture(c);
      try {
        const runStarted = performance.now();
        const result = await fx.run(RUN);
        const runMs = performance.now() - runStarted;
        // A goal state that is read but names foreign URLs carries foreign ids too: the fabric refuses a report for them.
        const foreignIds = /another host/.test(c.name);
        await assertEnd(
          fx.simulator,
          { root: fx.sandboxRoot, machine: fx.machine, state: () => fx.platform.readAgentState(), marker: () => fx.platform.readCompletionMarker() },
          result,
          { outcome: 'failed', code: c.code, reason: c.reason, reported: !foreignIds },
        );
        if (foreignIds) {
          assert.match(fx.simulator.healthReports.at(-1)?.description ?? '', /GoalState certificates: URL points at/);
          assert.equal(fx.simulator.requests.filter((r) => r.endpoint === undefined).length, 0, 'nothing was fetched from another host');
        }
        assert.deepEqual((await fx.machine()).changes, [], 'nothing was applied');
        assert.equal(result.exitCode, c.document === 'ovf-env' ? EXIT_CODES.input : EXIT_CODES.fabric);
        assert.ok(runMs < 10_000, `the run ended in ${Math.round(runMs)} ms`);
        assert.ok(!fx.lines.some((line) => STACK_LINE.test(line)), 'no stack trace in the log');
      } finally {
        await fx.close();
      }
    });
  }
});

test('custom data that is not base64 (and no CustomData.bin) fails after the name and account, and the journal knows both', { timeout: 30_000 }, async () => {
  const c: HostileCase = { name: 'custom data', document: 'ovf-env', body: ovfEnv({ CustomData: x('#!/bin/sh\nrm -rf / <not base64>') }), code: 'OVF_INVALID', reason: /^ovf-env\.xml CustomData: must be base64/ };
  const fx = await hostileFixture(c);
  try {
    const result = await fx.run(RUN);
    await assertEnd(
      fx.simulator,
      { root: fx.sandboxRoot, machine: fx.machine, state: () => fx.platform.readAgentState(), marker: () => fx.platform.readCompletionMarker() },
      result,
      { outcome: 'failed', code: c.code, reason: c.reason },
    );
    const machine = await fx.machine();
    assert.deepEqual(machine.changes.map((change) => change.verb), ['setComputerName', 'ensureAdminAccount']);
    const state = (await fx.platform.readAgentState())!;
    assert.deepEqual(state.applied.map((a) => a.what), ['computer-name', 'admin-account']);
    assert.equal(state.steps.find((s) => s.name === 'custom-data'), undefined, 'the custom data step never started');
  } finally {
    await fx.close();
  }
});

describe('unusual but legal values reach the machine exactly, as data', { concurrency: 4 }, () => {
  for (const v of VERBATIM_CASES) {
    test(v.name, { timeout: 30_000 }, async () => {
      const fx = await provisioningFixture({ scenario: { certificateCount: 0, adminPassword: PASSWORD } });
      try {
        const media = join(fx.sandboxRoot, 'drives', 'D');
        await writeFile(join(media, 'ovf-env.xml'), ovfEnv({ AdminUsername: x(v.username), AdminPassword: x(v.password), CustomData: Buffer.from(v.customData).toString('base64') }));
        await writeFile(join(media, 'CustomData.bin'), v.customData);
        const result = await fx.run(RUN);
        assert.equal(result.outcome, 'ready', result.error?.describe());
        const machine = await fx.machine();
        const user = machine.users.find((u) => u.name === v.username);
        assert.ok(user, `the account is named ${JSON.stringify(v.username)} exactly`);
        assert.ok(passwordMatches(user.passwordDigest, v.password), 'the password was set exactly');
        assert.ok(machine.groups[ADMINISTRATORS_SID]!.members.includes(user.sid));
        assert.equal(await readFile(join(fx.sandboxRoot, 'SystemDrive', 'AzureData', 'CustomData.bin'), 'utf8'), v.customData);
        const copy = await readFile(join(fx.platform.stateDirectory, 'ovf-env.xml'), 'utf8');
        assert.ok(!copy.includes(v.password) && !copy.includes(x(v.password)), 'the saved copy holds no password');
      } finally {
        await fx.close();
      }
    });
  }
});

// ---- Through the CLI process ------------------------------------------------------------------------

interface CliCase {
  name: string;
  /** A hostile document and where it goes, or hostile arguments. */
  hostile?: HostileCase;
  args?: (sandbox: string, url: string) => string[];
  setup?: (fx: ProvisioningFixture) => Promise<void>;
  exitCode: number;
  /** What the output names (the field and rule). */
  says: RegExp;
}

const byName = (name: string): HostileCase => {
  const found = ALL.find((c) => c.name === name);
  assert.ok(found, name);
  return found;
};

const CLI_CASES: CliCase[] = [
  { name: 'ovf-env with nested entities', hostile: byName('ovf-env: DOCTYPE with nested entities (billion laughs)'), exitCode: EXIT_CODES.input, says: /provisioning failed \[OVF_INVALID\]: ovf-env\.xml \(document\): must not contain a DOCTYPE/ },
  { name: 'ovf-env with invalid UTF-8', hostile: byName('ovf-env: invalid UTF-8 in AdminUsername'), exitCode: EXIT_CODES.input, says: /\[OVF_INVALID\]: ovf-env\.xml \(document\): is not valid UTF-8/ },
  { name: 'ovf-env with a __proto__ element', hostile: byName('ovf-env: __proto__ element'), exitCode: EXIT_CODES.input, says: /\[OVF_INVALID\]: ovf-env\.xml \(document\): is not well-formed XML/ },
  { name: 'ovf-env with a right-to-left override in the user name', hostile: byName('ovf-env: AdminUsername with a right-to-left override'), exitCode: EXIT_CODES.input, says: /\[OVF_INVALID\]: ovf-env\.xml AdminUsername: must not contain invisible/ },
  { name: 'goal state nested 20000 deep', hostile: byName('goal state: 20000 nested elements'), exitCode: EXIT_CODES.fabric, says: /\[FABRIC_DOCUMENT_INVALID\]: GoalState \(document\): is not well-formed XML \(at line 11, column \d+\): elements nested more than 100 deep/ },
  { name: 'goal state with U+FFFF in ContainerId', hostile: byName('goal state: U+FFFF in ContainerId (echoed in every health report)'), exitCode: EXIT_CODES.fabric, says: /\[FABRIC_DOCUMENT_INVALID\]: GoalState Container\/ContainerId: is not well-formed XML \(at line \d+, column \d+\): U\+FFFF/ },
  { name: 'ovf-env with a bare "&" in the password', hostile: byName('ovf-env: bare "&" in AdminPassword'), exitCode: EXIT_CODES.input, says: /\[OVF_INVALID\]: ovf-env\.xml AdminPassword: is not well-formed XML \(at line \d+, column \d+\): "&" must start/ },
  { name: 'hosting config walking up store folders', hostile: byName('hosting config: store name walking up folders'), exitCode: EXIT_CODES.fabric, says: /\[FABRIC_DOCUMENT_INVALID\]: HostingEnvironmentConfig .*@storeName/ },
  { name: 'certificates of random bytes', hostile: byName('certificates: Data of random bytes'), exitCode: EXIT_CODES.fabric, says: /\[CERTIFICATE_DECRYPT_FAILED\]: certificates envelope/ },
  {
    name: 'a fabric URL with a command in it',
    args: (sandbox) => ['provision', '--platform', 'sandbox', '--sandbox', sandbox, '--fabric', 'http://127.0.0.1:9/$(reboot)'],
    exitCode: EXIT_CODES.usage,
    says: /winprov: configuration fabric: must be a plain http:\/\/host\[:port\] URL/,
  },
  {
    name: 'a deadline that is not a duration',
    args: (sandbox, url) => ['provision', '--platform', 'sandbox', '--sandbox', sandbox, '--fabric', url, '--deadline', '1e309'],
    exitCode: EXIT_CODES.usage,
    says: /winprov: configuration deadline: must be a duration/,
  },
  {
    name: 'a machine.json that tries prototype pollution',
    setup: (fx) => writeFile(join(fx.sandboxRoot, 'machine.json'), '{"__proto__": {"version": 1, "vmId": "x", "users": []}, "constructor": {"prototype": {"polluted": true}}}'),
    exitCode: EXIT_CODES.platform,
    says: /winprov: sandbox machine\.json is not a version 1 machine description/,
  },
];

describe('hostile input through the CLI process', { concurrency: 4 }, () => {
  for (const c of CLI_CASES) {
    test(`${c.name}: exit ${c.exitCode}, one clear line, no stack trace`, { timeout: 30_000 }, async () => {
      const fx = c.hostile ? await hostileFixture(c.hostile) : await provisioningFixture({ scenario: { certificateCount: 0 } });
      try {
        await c.setup?.(fx);
        const args = c.args?.(fx.sandboxRoot, fx.simulator.url) ?? ['provision', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot, '--fabric', fx.simulator.url, '--deadline', '20s', '--read-timeout', '2s'];
        const started = performance.now();
        const child = spawn(process.execPath, [MAIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
        child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
        const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
        const elapsed = performance.now() - started;
        assert.equal(signal, null);
        assert.equal(code, c.exitCode, `${stdout}\n${stderr}`);
        assert.match(`${stdout}${stderr}`, c.says);
        assert.doesNotMatch(stdout, STACK_LINE);
        assert.doesNotMatch(stderr, STACK_LINE);
        assert.ok(!`${stdout}${stderr}`.includes(PASSWORD), 'the password is not printed');
        assert.ok(elapsed < 15_000, `exited in ${Math.round(elapsed)} ms`);
      } finally {
        await fx.close();
      }
    });
  }
});
