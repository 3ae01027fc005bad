import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildResult, checkTargets, renderReport, rowLabel, type RowSamples, type SharedSamples } from '../../bench/report.ts';

function row(certificates: number, readyMs: number[], extra: Partial<RowSamples> = {}): RowSamples {
  return {
    name: `certs-${certificates}`,
    certificates,
    customDataBytes: 0,
    timeToReadyMs: readyMs,
    exitMs: readyMs.map((ms) => ms + 10),
    peakRssMb: [80, 82, 84],
    steps: [{ versions: 9, certificates: 30 }, { versions: 11, certificates: 50 }, { versions: 10, certificates: 40 }],
    fabricRoundTripsMs: [5, 6, 7],
    decryptMs: certificates === 0 ? [] : [8, 9, 10],
    ...extra,
  };
}

const shared: SharedSamples = {
  nodeStartupMs: [29, 30, 31],
  nodeWithPreloadMs: [30, 31, 32],
  nodePeakRssMb: [44, 44, 44],
  versionMs: [50, 52, 54],
  keyGenerationMs: [30, 40, 50],
};
const context = { startedAt: '2026-01-01T00:00:00.000Z', durationS: 12.5, runs: 3, codeCache: 'used in 6 of 6 runs', machine: { nproc: 2, cpu: 'Test CPU', node: 'v24.0.0' }, method: {} };

test('each row gets its floor from the medians of the same run, and its ratio from the median time to Ready', () => {
  const result = buildResult([row(0, [60, 70, 80]), row(1, [150, 170, 190])], shared, context);
  const [none, one] = result.rows;
  // node 30 + fabric 6 (no key, no decryption without certificates)
  assert.equal(none!.floorMs, 36);
  // node 30 + fabric 6 + keygen 40 + decrypt 9
  assert.equal(one!.floorMs, 85);
  assert.equal(one!.ratio, 2);
  assert.equal(one!.timeToReadyMs.p90, 186);
  assert.deepEqual(one!.steps['certificates'], { n: 3, median: 40, p90: 48, min: 30, max: 50 });
  assert.equal(result.startup.preloadOverheadMs, 1);
});

test('the targets: the ratio with 1 certificate and with none, peak RSS with none and with the most, linear growth', () => {
  const fast = buildResult([row(0, [60, 70, 80], { peakRssMb: [68, 69, 70] }), row(1, [100, 110, 120]), row(10, [150, 160, 170]), row(50, [350, 360, 370])], shared, context);
  assert.deepEqual(fast.targets.map((t) => [t.target, t.met]), [
    ['time to Ready / floor (1 certificate)', true],
    ['time to Ready / floor (0 certificates)', true],
    ['peak RSS (0 certificates, median)', true],
    ['peak RSS (50 certificates, median)', true],
    ['growth with certificates', true],
  ]);
  const slow = buildResult([row(0, [150, 160, 170], { peakRssMb: [71, 72, 73] }), row(1, [200, 210, 220]), row(10, [250, 260, 270]), row(50, [1450, 1460, 1470], { peakRssMb: [95, 96, 97] })], shared, context);
  assert.deepEqual(slow.targets.map((t) => [t.target, t.met, t.measured]), [
    ['time to Ready / floor (1 certificate)', false, '2.47'],
    ['time to Ready / floor (0 certificates)', false, '4.44'],
    ['peak RSS (0 certificates, median)', false, '72.0 MB'],
    ['peak RSS (50 certificates, median)', false, '96.0 MB'],
    ['growth with certificates', false, slow.targets.at(-1)!.measured],
  ]);
  assert.deepEqual(checkTargets({ rows: [], growth: { points: [], slopes: [], linear: true } }), []);
});

test('the report prints the main table, floor parts, steps, start-up and targets, one line per row', () => {
  const noCertificates = row(0, [60, 70, 80], { steps: [{ versions: 9 }, { versions: 11 }, { versions: 10 }] });
  const text = renderReport(buildResult([noCertificates, row(1, [150, 170, 190])], shared, context));
  assert.match(text, /^winprov benchmark: 3 runs per row, interleaved; Test CPU x2, node v24\.0\.0/);
  assert.match(text, /\| 1 cert  \|\s+170 \|\s+186 \|\s+85 \|\s+2\.00 \|/);
  assert.match(text, /\| 0 certs \| +30\.0 \| +6\.0 \| +0\.0 \| +0\.0 \| +36\.0 \|/);
  assert.match(text, /\| certificates +\| +- \| +40 \|/);
  assert.match(text, /\| node -e 0 +\| +30\.0 \|/);
  assert.match(text, /\| time to Ready \/ floor \(1 certificate\) +\| <= 1\.5 +\| 2\.00 +\| NO  \|/);
  assert.match(text, /\| peak RSS \(0 certificates, median\) +\| <= 70 MB \| 82\.0 MB +\| NO  \|/);
});

test('row labels name certificates and custom data', () => {
  assert.equal(rowLabel({ certificates: 1, customDataBytes: 0 }), '1 cert');
  assert.equal(rowLabel({ certificates: 50, customDataBytes: 0 }), '50 certs');
  assert.equal(rowLabel({ certificates: 1, customDataBytes: 65_535 }), '1 cert + 64 KiB custom data');
});
