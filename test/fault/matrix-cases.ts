import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FAST_READ, FAST_REPORT, type ProvisioningFixture } from '../helpers/provisioning.ts';
import type { SimulatorOptions } from '../../src/simulator/index.ts';
import type { ProvisionResult, RunSettings } from '../../src/agent.ts';
import { option245Cache, type EndExpectation } from './support.ts';

/**
 * The fault matrix's cases: for each scenario file, what the simulator and the run add to it, the end the
 * run must reach, bounds on its wall time, and the checks particular to the fault.
 */

/** One scenario of the matrix. */
export interface MatrixCase {
  file: string;
  simulator?: Omit<SimulatorOptions, 'scenario' | 'faults'>;
  settings?: (fx: ProvisioningFixture) => Partial<RunSettings>;
  setup?: (fx: ProvisioningFixture) => Promise<void>;
  expect: EndExpectation;
  /** Bounds on the run's wall time; maxMs defaults to QUICK. */
  minMs?: number;
  maxMs?: number;
  check?: (fx: ProvisioningFixture, result: ProvisionResult) => Promise<void> | void;
}

/** Short timeouts for every scenario; a case may override them. */
export const BASE: Partial<RunSettings> = { connectTimeoutMs: 1_000, readTimeoutMs: 2_000, failureReportGraceMs: 3_000, deadlineMs: 20_000 };
/** A read policy that keeps trying for as long as the deadline allows. */
const PATIENT_READ = { baseDelayMs: 100, maxDelayMs: 400, maxAttempts: 1_000, jitter: 0 };
/** The settings of the runs that end at their deadline, on which their bounds are built. */
const CERTIFICATES_PAST_DEADLINE = { deadlineMs: 2_000, failureReportGraceMs: 3_000, readPolicy: PATIENT_READ };
// However many of the ten 503s the run used up, the report's own goal-state fetch outlasts the rest.
const GOALSTATE_PAST_DEADLINE = { deadlineMs: 1_500, failureReportGraceMs: 8_000, readPolicy: PATIENT_READ };
const MEDIA_HANG = { deadlineMs: 2_000, failureReportGraceMs: 3_000 };

const READY: EndExpectation = { outcome: 'ready' };
/**
 * The bound of a scenario that waits on no clock of its own: a few hundred milliseconds alone (and
 * matrix.test.ts runs these one at a time), but it must hold on a loaded 2-core machine; any default
 * timeout or backoff (5 s connect, 60 s read, 1 s first retry growing to 10 s) would still overrun it.
 */
export const QUICK = 8_000;
/**
 * A run that may wait out its deadline and then its failure report's grace is bounded by the two plus
 * this: its work besides those waits (the report's requests, the journal, KVP, the end of the run) on a
 * loaded 2-core machine, beside the other scenarios that wait on a clock (matrix.test.ts). At load 22,
 * such runs whose report went at once ended 0.3 s after their deadline.
 */
const SLACK = 2_000;
/** The bound of such a run, from its own settings. */
const byGraceEnd = (s: { deadlineMs: number; failureReportGraceMs: number }): number => s.deadlineMs + s.failureReportGraceMs + SLACK;
const ciphers = (fx: ProvisioningFixture) => fx.simulator.requestsTo('certificates').map((r) => r.headers['x-ms-cipher-name']);
const count = (fx: ProvisioningFixture, endpoint: Parameters<ProvisioningFixture['simulator']['requestsTo']>[0]) => fx.simulator.requestsTo(endpoint).length;

/** Every scenario file with its expectations. */
export const CASES: MatrixCase[] = [
  { file: 'fabric-down-5s.json', settings: () => ({ readPolicy: PATIENT_READ }), expect: READY, minMs: 4_500, maxMs: 15_000 },
  {
    file: 'goalstate-503-retry-after.json',
    expect: READY,
    minMs: 2_000,
    maxMs: 9_000,
    check: (fx) => assert.equal(count(fx, 'goalstate'), 3, 'two 503s then the goal state'),
  },
  {
    file: 'versions-503-three-times-retry-after.json',
    expect: READY,
    minMs: 3_000,
    maxMs: 10_000,
    check: (fx) => {
      const at = fx.simulator.requestsTo('versions').map((r) => r.at);
      assert.equal(at.length, 4);
      for (let i = 1; i < at.length; i++) assert.ok(at[i]! - at[i - 1]! >= 950, `Retry-After: 1 was honoured (${at[i]! - at[i - 1]!} ms)`);
    },
  },
  { file: 'goalstate-429-throttled.json', expect: READY, check: (fx) => assert.equal(count(fx, 'goalstate'), 3) },
  {
    file: 'goalstate-no-role-instance.json',
    expect: READY,
    minMs: 900,
    check: (fx) => assert.equal(count(fx, 'goalstate'), 3, 'fetched again until the RoleInstance came'),
  },
  {
    file: 'goalstate-no-role-instance-persistent.json',
    expect: { outcome: 'failed', code: 'FABRIC_DOCUMENT_INVALID', reason: /RoleInstance/ },
    maxMs: 10_000,
    check: (fx) => assert.equal(count(fx, 'goalstate'), 7, 'six bounded attempts, then one for the failure report'),
  },
  {
    file: 'health-ack-with-bad-body.json',
    expect: READY,
    check: (fx) => assert.deepEqual(fx.simulator.healthReports.map((r) => [r.state, r.httpStatus]), [['NotReady', 200], ['Ready', 200]], 'each report sent once'),
  },
  { file: 'health-500-twice.json', expect: READY, check: (fx) => assert.deepEqual(fx.simulator.healthReports.slice(0, 2).map((r) => r.httpStatus), [500, 500]) },
  {
    file: 'health-400-provisioning-report.json',
    expect: READY,
    check: (fx) => {
      assert.equal(fx.simulator.healthReports[0]!.httpStatus, 400);
      assert.ok(fx.lines.some((l) => /WARN the Provisioning report was not accepted/.test(l)));
    },
  },
  {
    file: 'ready-refused-400.json',
    expect: { outcome: 'failed', code: 'WIRESERVER_HTTP', reason: /HTTP 400/, markerKept: true },
    check: async (fx) => {
      // A refusal is the fabric's answer: not repeated, no ProvisioningFailed, the guest agent left as it was.
      assert.equal(count(fx, 'health'), 2, 'Provisioning, then the one refused Ready');
      assert.ok((await fx.machine()).services.every((s) => s.startMode === 'Disabled'), 'the guest agent was not handed over');
      // Everything had been applied; a second run sends only Ready again.
      const before = await fx.machine();
      const second = await fx.run({ ...BASE });
      assert.equal(second.outcome, 'ready', second.error?.describe());
      assert.equal(second.alreadyProvisioned, true);
      assert.deepEqual((await fx.machine()).changes.filter((c) => c.verb !== 'setGuestAgentServices'), before.changes);
      assert.equal(fx.simulator.healthReports.filter((r) => r.state === 'Ready' && r.accepted).length, 1);
    },
  },
  {
    // Its bump is scripted on the second goal-state request; a run that meets no 410 fetches the goal state
    // once, so the bump never plays (certificates-410-incarnation-bump.json and health-410-... do play one).
    file: 'incarnation-bump.json',
    expect: READY,
    check: (fx) => assert.equal(count(fx, 'goalstate'), 1),
  },
  {
    file: 'certificates-410-incarnation-bump.json',
    expect: READY,
    check: (fx) => {
      assert.equal(fx.simulator.expected.incarnation, '2');
      assert.equal(count(fx, 'goalstate'), 2, 'the goal state was fetched again after 410');
      assert.ok(fx.simulator.requestsTo('certificates').at(-1)!.path.endsWith('incarnation=2'));
    },
  },
  {
    file: 'health-410-incarnation-bump.json',
    expect: READY,
    check: (fx) => {
      assert.equal(fx.simulator.healthReports[0]!.httpStatus, 410);
      assert.equal(fx.simulator.expected.incarnation, '2');
    },
  },
  {
    file: 'ready-410-incarnation-bump.json',
    expect: READY,
    check: (fx) => {
      assert.deepEqual(fx.simulator.healthReports.map((r) => `${r.state}:${r.incarnation}:${r.httpStatus}`), ['NotReady:1:200', 'Ready:1:410', 'Ready:2:200']);
      assert.equal(count(fx, 'goalstate'), 2);
    },
  },
  {
    file: 'health-hang.json',
    settings: () => ({ readTimeoutMs: 300 }),
    expect: READY,
    minMs: 300,
    check: (fx) => assert.equal(count(fx, 'health'), 3, 'Provisioning, the hung Ready, Ready again'),
  },
  {
    file: 'certificates-hang.json',
    settings: () => ({ readTimeoutMs: 300 }),
    expect: READY,
    minMs: 300,
    check: (fx) => assert.equal(count(fx, 'certificates'), 2, 'the hung request was abandoned and sent again'),
  },
  {
    file: 'certificates-hang-forever.json',
    settings: () => ({ readTimeoutMs: 300, readPolicy: { ...FAST_READ, maxAttempts: 3 } }),
    expect: { outcome: 'failed', code: 'WIRESERVER_TIMEOUT', reason: /read timeout/ },
    minMs: 900,
    check: (fx) => assert.equal(count(fx, 'certificates'), 3),
  },
  {
    file: 'deadline-during-certificate-retries.json',
    settings: () => CERTIFICATES_PAST_DEADLINE,
    expect: { outcome: 'failed', code: 'DEADLINE_EXCEEDED', reason: /certificates|comp=certificates/ },
    // No wait is begun that would end past the deadline: the last ends at most a backoff (400 ms) before it.
    minMs: CERTIFICATES_PAST_DEADLINE.deadlineMs - 500,
    maxMs: byGraceEnd(CERTIFICATES_PAST_DEADLINE),
  },
  {
    file: 'deadline-during-goalstate-retries.json',
    settings: () => GOALSTATE_PAST_DEADLINE,
    expect: { outcome: 'failed', code: 'DEADLINE_EXCEEDED', reason: /goalstate/ },
    minMs: GOALSTATE_PAST_DEADLINE.deadlineMs - 500,
    maxMs: byGraceEnd(GOALSTATE_PAST_DEADLINE),
    // The report's own retries say they give up by the grace's end, not by the deadline that passed.
    check: (fx) => assertGraceInLog(fx, /reporting ProvisioningFailed to the fabric, giving up by/),
  },
  {
    file: 'fabric-never-up.json',
    settings: () => ({ deadlineMs: 1_500, failureReportGraceMs: 1_000, readPolicy: PATIENT_READ }),
    expect: { outcome: 'failed', code: 'DEADLINE_EXCEEDED', reported: false },
    minMs: 1_000,
    check: (fx) => assert.equal(fx.simulator.requests.length, 0),
  },
  {
    file: 'no-option-245-fallback.json',
    settings: (fx) => ({ fabricUrl: undefined, fallbackAddress: '127.0.0.1', fabricPort: Number(new URL(fx.simulator.url).port) }),
    expect: READY,
    check: (_fx, result) => assert.deepEqual(result.state.fabric?.source, 'fallback'),
  },
  {
    file: 'option-245-dhcp-cache.json',
    setup: (fx) => fx.editMachine((m) => void (m.interfaces[0]!.dhcpInterfaceOptions = option245Cache('127.0.0.1'))),
    settings: (fx) => ({ fabricUrl: undefined, fallbackAddress: '127.0.0.1', fabricPort: Number(new URL(fx.simulator.url).port) }),
    expect: READY,
    check: (fx, result) => {
      assert.equal(result.state.fabric?.source, 'dhcp-cache');
      assert.equal(result.state.fabric?.endpoint, fx.simulator.url);
    },
  },
  {
    file: 'dhcp-disabled-repaired.json',
    setup: (fx) => fx.editMachine((m) => Object.assign(m.interfaces[0]!, { dhcpEnabled: false, addresses: ['192.168.7.7'] })),
    settings: () => ({ dhcpWaitMs: 100 }),
    expect: READY,
    check: async (fx) => {
      assert.equal((await fx.machine()).interfaces[0]!.dhcpEnabled, true);
      assert.ok(fx.lines.some((l) => /WARN DHCP is disabled on Ethernet; enabling it/.test(l)));
    },
  },
  {
    file: 'dhcp-disabled-no-repair.json',
    setup: (fx) => fx.editMachine((m) => void (m.interfaces[0]!.dhcpEnabled = false)),
    settings: () => ({ repairDhcp: false }),
    expect: { outcome: 'failed', code: 'DHCP_DISABLED', reason: /DHCP is disabled on Ethernet/ },
    check: async (fx) => {
      const machine = await fx.machine();
      assert.equal(machine.interfaces[0]!.dhcpEnabled, false);
      assert.deepEqual(machine.changes, [], 'nothing was applied');
      const description = fx.simulator.healthReports.at(-1)!.description!;
      assert.match(description, /set static addresses on the NIC in Azure/);
    },
  },
  {
    file: 'goalstate-malformed.json',
    expect: { outcome: 'failed', code: 'FABRIC_DOCUMENT_INVALID', reason: /GoalState \(document\): is not well-formed XML/ },
  },
  {
    file: 'truncated-bodies.json',
    expect: READY,
    check: (fx) => {
      for (const endpoint of ['versions', 'goalstate', 'hostingEnvironmentConfig', 'certificates'] as const) assert.equal(count(fx, endpoint), 2, endpoint);
    },
  },
  { file: 'connection-resets.json', expect: READY, check: (fx) => assert.equal(count(fx, 'health'), 4, 'two reset reports, Provisioning, Ready') },
  {
    file: 'goalstate-oversize.json',
    settings: () => ({ maxResponseBytes: 1024 * 1024 }),
    expect: { outcome: 'failed', code: 'WIRESERVER_HTTP', reason: /over the limit of 1048576/ },
  },
  {
    file: 'hosting-config-oversize.json',
    expect: { outcome: 'failed', code: 'FABRIC_DOCUMENT_INVALID', reason: /HostingEnvironmentConfig \(document\): is 4194304 bytes, over the limit/ },
  },
  { file: 'certificates-corrupt-once.json', expect: READY, check: (fx) => assert.deepEqual(ciphers(fx), ['AES128_CBC', 'DES_EDE3_CBC']) },
  {
    file: 'certificates-corrupt-always.json',
    expect: { outcome: 'failed', code: 'CERTIFICATE_DECRYPT_FAILED', reason: /certificates envelope/ },
    check: async (fx) => {
      assert.deepEqual(ciphers(fx), ['AES128_CBC', 'DES_EDE3_CBC'], 'both ciphers were tried');
      const machine = await fx.machine();
      assert.ok(Object.values(machine.certificateStores).every((store) => store.length === 0), 'nothing imported');
    },
  },
  {
    file: 'certificates-wrong-recipient.json',
    expect: { outcome: 'failed', code: 'CERTIFICATE_DECRYPT_FAILED', reason: /recipient|transport/ },
    check: (fx) => assert.deepEqual(ciphers(fx), ['AES128_CBC', 'DES_EDE3_CBC'], 'both ciphers were tried'),
  },
  {
    file: 'cipher-aes-refused.json',
    simulator: { supportedCiphers: ['DES_EDE3_CBC'] },
    expect: READY,
    check: (fx) => {
      assert.deepEqual(ciphers(fx), ['AES128_CBC', 'DES_EDE3_CBC']);
      assert.ok(fx.lines.some((l) => /certificates with AES128_CBC failed .*HTTP 400.*trying the next cipher/.test(l)));
    },
  },
  { file: 'oaep-key-transport.json', simulator: { keyTransport: 'rsaes-oaep-sha1' }, expect: READY },
  { file: 'issuer-serial-recipient.json', simulator: { recipientId: 'issuerAndSerialNumber' }, expect: READY },
  {
    file: 'versions-none-supported.json',
    expect: { outcome: 'failed', code: 'FABRIC_VERSION_UNSUPPORTED', reason: /2099-01-01/ },
  },
  {
    file: 'certificates-404-fail-fast.json',
    expect: { outcome: 'failed', code: 'WIRESERVER_HTTP', reason: /HTTP 404/ },
    check: (fx) => assert.equal(count(fx, 'certificates'), 1, '404 is not retried, nor another cipher tried'),
  },
  { file: 'gateway-errors.json', expect: READY, check: (fx) => assert.equal(count(fx, 'hostingEnvironmentConfig'), 3) },
  {
    file: 'slow-answers.json',
    settings: () => ({ readTimeoutMs: 1_000 }),
    expect: READY,
    minMs: 600,
    check: (fx) => assert.equal(count(fx, 'goalstate'), 1, 'a slow answer is waited for, not retried'),
  },
  {
    file: 'provisioning-report-late-then-failure.json',
    expect: { outcome: 'failed', code: 'WIRESERVER_HTTP', reason: /HTTP 404/ },
    minMs: 600,
    check: async (fx) => {
      // Had the agent left its Provisioning report in flight, the fabric would judge it now, after the failure.
      await new Promise((resolve) => setTimeout(resolve, 900));
      const accepted = fx.simulator.healthReports.filter((r) => r.accepted).map((r) => r.subStatus);
      assert.deepEqual(accepted, ['Provisioning', 'ProvisioningFailed']);
    },
  },
  { file: 'winrm-https-custom-data.json', expect: READY },
  {
    file: 'ready-ack-lost.json',
    expect: { outcome: 'ready', readyAccepted: 2 },
    check: (fx) => assert.equal(count(fx, 'health'), 3, 'Provisioning, Ready (answer lost), Ready again'),
  },
  {
    file: 'ready-ack-slow-30s.json',
    settings: () => ({ readTimeoutMs: 300 }),
    expect: { outcome: 'ready', readyAccepted: 2 },
    minMs: 300,
    check: (fx) => assert.equal(count(fx, 'health'), 3, 'Provisioning, Ready (answer 30 s late), Ready again'),
  },
  {
    file: 'ready-ack-never.json',
    settings: () => ({ reportPolicy: { ...FAST_REPORT, maxAttempts: 3 } }),
    expect: { outcome: 'failed', code: 'READY_UNCONFIRMED', reason: /6 attempt\(s\) reached the fabric and lost only the answer/, markerKept: true, readyAccepted: 6 },
    check: async (fx, result) => {
      assert.equal(result.exitCode, 4);
      // Ready was probably accepted: the hand-off happens as after an acknowledged Ready.
      assert.ok((await fx.machine()).services.every((s) => s.startMode === 'Automatic'), 'the guest agent was handed over');
      assert.ok(result.state.steps.some((s) => s.name === 'guest-agent' && s.outcome === 'ok'));
      assertGraceInLog(fx);
    },
  },
  {
    file: 'ready-503-through-grace.json',
    settings: () => ({ reportPolicy: { ...FAST_REPORT, maxAttempts: 3 } }),
    expect: { outcome: 'failed', code: 'READY_UNCONFIRMED', reason: /no attempt is known to have reached the fabric/, markerKept: true },
    check: async (fx, result) => {
      assert.equal(count(fx, 'health'), 7, 'Provisioning, three Ready in the run, three in the grace period');
      assert.ok(result.state.steps.every((s) => s.name !== 'guest-agent'));
      assert.ok((await fx.machine()).services.every((s) => s.startMode === 'Disabled'), 'the fabric never took Ready: no hand-off');
      assertGraceInLog(fx);
    },
  },
  {
    file: 'media-missing-fabric-down.json',
    setup: (fx) => rm(join(fx.sandboxRoot, 'drives', 'D'), { recursive: true, force: true }),
    settings: () => ({ deadlineMs: 3_000, failureReportGraceMs: 1_000, readPolicy: PATIENT_READ }),
    expect: { outcome: 'failed', code: 'MEDIA_NOT_FOUND', reason: /no drive holds/, reported: false },
    minMs: 1_000,
    check: (fx) => assert.ok(fx.lines.some((l) => /WARN \[DEADLINE_EXCEEDED\] .*reported instead: there is no provisioning media/.test(l))),
  },
  {
    file: 'media-missing-goalstate-malformed.json',
    setup: (fx) => rm(join(fx.sandboxRoot, 'drives', 'D'), { recursive: true, force: true }),
    expect: { outcome: 'failed', code: 'MEDIA_NOT_FOUND', reason: /no drive holds/ },
  },
  {
    file: 'media-read-hangs.json',
    setup: (fx) => fx.editMachine((m) => void (m.hang = 'readProvisioningMedia')),
    settings: () => MEDIA_HANG,
    expect: { outcome: 'failed', code: 'PLATFORM_TIMEOUT', reason: /readProvisioningMedia did not finish before the run deadline/ },
    // Within the deadline plus the failure report's grace.
    minMs: MEDIA_HANG.deadlineMs - 100,
    maxMs: byGraceEnd(MEDIA_HANG),
  },
  {
    file: 'media-hangs-goalstate-malformed.json',
    setup: (fx) => fx.editMachine((m) => void (m.hang = 'readProvisioningMedia')),
    settings: () => ({ deadlineMs: 30_000, failureReportGraceMs: 3_000 }),
    expect: { outcome: 'failed', code: 'FABRIC_DOCUMENT_INVALID', reason: /GoalState \(document\): is not well-formed XML/ },
    // The media read is given 2 s to explain the failure (failure-report.ts), then the report goes: long
    // before the 30 s deadline that bounds the read itself.
    minMs: 1_900,
    maxMs: 8_000,
  },
];

/** During the grace period, every wait says it gives up by the grace's end, never by the passed deadline. */
function assertGraceInLog(fx: ProvisioningFixture, announced = /Ready, not ProvisioningFailed, is sent again until/): void {
  const start = fx.lines.findIndex((l) => announced.test(l));
  assert.ok(start >= 0, 'the grace period was announced');
  const until = /(?:until|by) (\d\d:\d\d:\d\d) UTC/.exec(fx.lines[start]!)![1];
  const waits = fx.lines.slice(start).filter((l) => /giving up by/.test(l));
  assert.ok(waits.length > 0);
  for (const line of waits) assert.match(line, new RegExp(`giving up by ${until} UTC`));
}
