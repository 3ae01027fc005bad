import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { FabricSimulator } from '../../src/simulator/index.ts';
import { MAX_DESCRIPTION_BYTES, checkHealthReport } from '../../src/simulator/health-check.ts';
import { healthBody, postHealth } from './support.ts';

const expected = { incarnation: 3, containerId: 'c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2', instanceId: 'b61f93d0._vm1' };
const ids = { incarnation: '3', containerId: expected.containerId, instanceId: expected.instanceId };
const check = (body: string): ReturnType<typeof checkHealthReport> => checkHealthReport(Buffer.from(body), expected);

test('a Ready report for the current goal state is accepted with its fields read', () => {
  const verdict = check(healthBody({ ...ids, state: 'Ready' }));
  assert.deepEqual(verdict, { ...ids, state: 'Ready', accepted: true, httpStatus: 200 });
});

test('NotReady with SubStatus and an escaped Description is accepted and the description decoded', () => {
  const verdict = check(healthBody({ ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed', description: 'reason=a<b & "c"' }));
  assert.equal(verdict.accepted, true);
  assert.equal(verdict.subStatus, 'ProvisioningFailed');
  assert.equal(verdict.description, 'reason=a<b & "c"');
});

test('the formatting and prefixes of other agents are tolerated (pretty-printed, no namespaces, single quotes)', () => {
  const body = `<?xml version='1.0' encoding='utf-8'?>
<Health>
  <GoalStateIncarnation>3</GoalStateIncarnation>
  <Container>
    <ContainerId>${ids.containerId}</ContainerId>
    <RoleInstanceList>
      <Role>
        <InstanceId>${ids.instanceId}</InstanceId>
        <Health><State>NotReady</State><Details><SubStatus>Provisioning</SubStatus><Description><![CDATA[Starting]]></Description></Details></Health>
      </Role>
    </RoleInstanceList>
  </Container>
</Health>`;
  const verdict = check(body);
  assert.equal(verdict.accepted, true, verdict.reason);
  assert.equal(verdict.description, 'Starting');
});

test('mismatched container or instance ids are refused with 400', () => {
  for (const wrong of [{ containerId: 'other' }, { instanceId: 'other._vm1' }]) {
    const verdict = check(healthBody({ ...ids, ...wrong, state: 'Ready' }));
    assert.equal(verdict.httpStatus, 400);
    assert.equal(verdict.accepted, false);
    assert.match(verdict.reason!, /Id other/);
  }
});

test('a stale incarnation is refused with 410, a future or non-numeric one with 400', () => {
  assert.equal(check(healthBody({ ...ids, incarnation: '2', state: 'Ready' })).httpStatus, 410);
  assert.equal(check(healthBody({ ...ids, incarnation: '4', state: 'Ready' })).httpStatus, 400);
  assert.equal(check(healthBody({ ...ids, incarnation: 'x', state: 'Ready' })).httpStatus, 400);
});

test('a description over 4096 bytes is refused with 500; exactly 4096 bytes is accepted', () => {
  const report = (description: string): ReturnType<typeof check> =>
    check(healthBody({ ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed', description }));
  assert.equal(report('a'.repeat(MAX_DESCRIPTION_BYTES)).httpStatus, 200);
  assert.equal(report('a'.repeat(MAX_DESCRIPTION_BYTES + 1)).httpStatus, 500);
  // Bytes, not characters: 2049 two-byte characters are 4098 bytes.
  assert.equal(report('é'.repeat(2049)).httpStatus, 500);
});

test('an unknown State, or NotReady without SubStatus, is refused with 400', () => {
  assert.equal(check(healthBody({ ...ids, state: 'Started' })).httpStatus, 400);
  assert.equal(check(healthBody({ ...ids, state: 'ready' })).httpStatus, 400);
  const noSub = check(healthBody({ ...ids, state: 'NotReady', description: 'x' }));
  assert.equal(noSub.httpStatus, 400);
  assert.match(noSub.reason!, /SubStatus/);
});

test('malformed, misshapen or hostile bodies are refused with 400 and a reason', () => {
  const good = healthBody({ ...ids, state: 'Ready' });
  const cases: [string | Buffer, RegExp][] = [
    ['', /no root element/],
    ['<Health><GoalStateIncarnation>3</Health>', /mismatched closing tag/],
    [good.replace('<Health xmlns', '<Report xmlns').replace(/<\/Health>$/, '</Report>'), /<Report>/],
    [good.replace('<GoalStateIncarnation>3</GoalStateIncarnation>', ''), /GoalStateIncarnation is missing/],
    [good.replace('<Role>', '<Role><InstanceId>x</InstanceId>'), /InstanceId appears 2 times/],
    ['<!DOCTYPE x [<!ENTITY a "b">]>' + good, /DOCTYPE/],
    [good.replace('Ready', 'Re&nbsp;ady'), /unknown entity/],
    [Buffer.from([0x3c, 0x48, 0xff, 0xfe]), /UTF-8/],
  ];
  for (const [body, reason] of cases) {
    const verdict = checkHealthReport(Buffer.from(body), expected);
    assert.equal(verdict.httpStatus, 400, String(body).slice(0, 40));
    assert.match(verdict.reason!, reason);
  }
});

test('WALA\'s one-line report (fabric-protocol.md 2.8) passes the checker', () => {
  const wala = `<?xml version="1.0" encoding="utf-8"?><Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><GoalStateIncarnation>3</GoalStateIncarnation><Container><ContainerId>${ids.containerId}</ContainerId><RoleInstanceList><Role><InstanceId>${ids.instanceId}</InstanceId><Health><State>Ready</State></Health></Role></RoleInstanceList></Container></Health>`;
  assert.equal(check(wala).accepted, true);
});

const sim = new FabricSimulator({ scenario: { certificateCount: 0 } });
await sim.start();
after(() => sim.stop());

test('over HTTP every report is recorded, accepted or not, with the status answered', async () => {
  const { incarnation, containerId, instanceId } = sim.expected;
  const before = sim.healthReports.length;
  const answers = [
    await postHealth(sim, healthBody({ incarnation, containerId, instanceId, state: 'NotReady', subStatus: 'Provisioning', description: 'Starting' })),
    await postHealth(sim, healthBody({ incarnation, containerId: 'nope', instanceId, state: 'Ready' })),
    await postHealth(sim, healthBody({ incarnation: '0', containerId, instanceId, state: 'Ready' })),
    await postHealth(sim, healthBody({ incarnation, containerId, instanceId, state: 'NotReady', subStatus: 'ProvisioningFailed', description: 'x'.repeat(5000) })),
    await postHealth(sim, 'not xml at all'),
    await postHealth(sim, healthBody({ incarnation, containerId, instanceId, state: 'Ready' })),
  ];
  assert.deepEqual(answers.map((a) => a.status), [200, 400, 410, 500, 400, 200]);
  assert.equal(answers[0]!.body.length, 0);
  assert.equal(answers[0]!.headers['x-ms-latest-goal-state-incarnation-number'], '1');
  const reports = sim.healthReports.slice(before);
  assert.deepEqual(
    reports.map((r) => [r.state, r.subStatus, r.accepted, r.httpStatus]),
    [
      ['NotReady', 'Provisioning', true, 200],
      ['Ready', undefined, false, 400],
      ['Ready', undefined, false, 410],
      ['NotReady', 'ProvisioningFailed', false, 500],
      ['', undefined, false, 400],
      ['Ready', undefined, true, 200],
    ],
  );
  assert.equal(reports[0]!.description, 'Starting');
  assert.ok(reports.every((r) => r.at >= 0));
});

test('a health body over 64 KiB is refused with 413 and still recorded', async () => {
  const before = sim.healthReports.length;
  const res = await postHealth(sim, `<Health>${'x'.repeat(70 * 1024)}</Health>`);
  assert.equal(res.status, 413);
  assert.equal(sim.healthReports.length, before + 1);
  assert.equal(sim.healthReports.at(-1)!.accepted, false);
});
