import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../src/errors.ts';
import { loadScenarioFile, resolveScenario } from '../../src/simulator/index.ts';
import { generateAdminPassword, validateScenario } from '../../src/simulator/scenario.ts';

const scenarios = fileURLToPath(new URL('../fixtures/scenarios/', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'winprov-scenario-'));
after(() => rm(dir, { recursive: true, force: true }));

async function fileWith(content: unknown): Promise<string> {
  const path = join(dir, `s${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

test('every scenario file in test/fixtures/scenarios loads', async () => {
  const files = (await readdir(scenarios)).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 5);
  for (const file of files) {
    const loaded = loadScenarioFile(join(scenarios, file));
    assert.ok(loaded.description.length > 10, file);
    assert.equal(typeof loaded.scenario.computerName, 'string', file);
  }
});

test('a scenario file gives its description, scenario with defaults filled in, and faults', () => {
  const loaded = loadScenarioFile(join(scenarios, 'goalstate-503-retry-after.json'));
  assert.match(loaded.description, /503/);
  assert.equal(loaded.scenario.computerName, 'winprov-demo');
  assert.equal(loaded.scenario.adminUsername, 'azureuser');
  assert.equal(loaded.scenario.certificateCount, 1);
  assert.equal(loaded.scenario.provisionGuestAgent, true);
  assert.deepEqual(loaded.faults.endpoints?.goalstate?.[0], { status: 503, retryAfter: '1', body: 'Service Unavailable' });
  const full = loadScenarioFile(join(scenarios, 'winrm-https-custom-data.json'));
  assert.equal(full.scenario.adminUsername, 'opsadmin');
  assert.equal(full.scenario.provisionGuestAgent, false);
  assert.deepEqual(full.faults, {});
});

test('scenario file errors are UsageErrors that name the file and the key', async () => {
  const cases: [unknown, RegExp][] = [
    ['{ not json', /\(file\) is not valid JSON/],
    [[1, 2], /\(file\) must be a JSON object/],
    [{ scenario: {} }, /description must be a non-empty string/],
    [{ description: 'x', extra: 1 }, /: extra is not a key \(description, scenario, faults, imds\)/],
    [{ description: 'x', imds: [] }, /: imds must be an object/],
    [{ description: 'x', imds: { userdata: 'x' } }, /: imds\.userdata is not a key of the imds section \(userData, userDataBase64, vmId, faults, notFound\)/],
    [{ description: 'x', imds: { userData: 5 } }, /: imds\.userData must be a string/],
    [{ description: 'x', imds: { userData: 'a', userDataBase64: 'YQ==' } }, /: imds\.userDataBase64 cannot be given with userData/],
    [{ description: 'x', imds: { userData: 'x'.repeat(50_000) } }, /: imds\.userData is 66668 characters of base64, more than Azure's 65536/],
    [{ description: 'x', imds: { vmId: 'vm-1' } }, /: imds\.vmId must be a GUID/],
    [{ description: 'x', imds: { notFound: 'yes' } }, /: imds\.notFound must be a boolean/],
    [{ description: 'x', imds: { faults: { status: 503 } } }, /: imds\.faults must be an array of fault steps/],
    [{ description: 'x', imds: { faults: [{ status: 503 }, { status: 200 }] } }, /: imds\.faults\[1\]\.status must be an integer HTTP error status 400-599/],
    [{ description: 'x', imds: { faults: [{ reset: 'yes' }] } }, /: imds\.faults\[0\]\.reset must be true/],
    [{ description: 'x', imds: { faults: [{ delayMs: 5 }] } }, /: imds\.faults\[0\]\.delayMs is not a fault step \(status, reset, hang\)/],
    [{ description: 'x', imds: { faults: [{ hang: true, reset: true }] } }, /: imds\.faults\[0\] must have exactly one of status, reset, hang/],
    [{ description: 'x', scenario: { computername: 'a' } }, /scenario\.computername is not a scenario key/],
    [{ description: 'x', scenario: { certificateCount: '2' } }, /scenario\.certificateCount must be an integer 0-64/],
    [{ description: 'x', scenario: { certificateCount: 65 } }, /scenario\.certificateCount must be an integer 0-64/],
    [{ description: 'x', scenario: { provisionGuestAgent: 'yes' } }, /scenario\.provisionGuestAgent must be a boolean/],
    [{ description: 'x', scenario: { adminPassword: 123 } }, /scenario\.adminPassword must be a string/],
    [{ description: 'x', scenario: { winRmHttps: true, certificateCount: 0 } }, /scenario\.winRmHttps needs certificateCount/],
    [{ description: 'x', scenario: [] }, /scenario must be an object/],
    [{ description: 'x', faults: { endpoints: { goalstate: [{ status: 503, retryAfter: 1 }] } } }, /faults\.endpoints\.goalstate\[0\]\.retryAfter must be a string/],
    [{ description: 'x', faults: { endpoints: { certificate: [] } } }, /faults\.endpoints\.certificate is not an endpoint/],
  ];
  for (const [content, message] of cases) {
    const path = await fileWith(content);
    assert.throws(
      () => loadScenarioFile(path),
      (err: unknown) => err instanceof UsageError && message.test(err.reason) && err.reason.startsWith('scenario file s'),
      JSON.stringify(content),
    );
  }
  assert.throws(() => loadScenarioFile(join(dir, 'missing.json')), /missing\.json: cannot be read \(ENOENT\)/);
});

test('the imds section: user data as text is served base64, as written with userDataBase64; no section is {}', async () => {
  const vmId = '6a1d2c5e-0b7f-4c1e-9a53-2f0e8b7d4c11';
  const text = await fileWith({ description: 'x', imds: { userData: '#ps1\nWrite-Output 1\n', vmId, faults: [{ status: 503 }, { reset: true }, { hang: true }], notFound: false } });
  assert.deepEqual(loadScenarioFile(text).imds, {
    userData: Buffer.from('#ps1\nWrite-Output 1\n').toString('base64'),
    vmId,
    faults: [{ status: 503 }, { reset: true }, { hang: true }],
    notFound: false,
  });
  const raw = await fileWith({ description: 'x', imds: { userDataBase64: 'not base64 at all' } });
  assert.deepEqual(loadScenarioFile(raw).imds, { userData: 'not base64 at all' });
  const large = await fileWith({ description: 'x', imds: { userDataBase64: 'QQ=='.repeat(20_000) } });
  assert.equal(loadScenarioFile(large).imds.userData?.length, 80_000, 'userDataBase64 may exceed what Azure takes');
  assert.deepEqual(loadScenarioFile(await fileWith({ description: 'x' })).imds, {});
});

test('a password in the scenario never appears in an error message', async () => {
  const path = await fileWith({ description: 'x', scenario: { adminPassword: 'S3cret!Value', certificateCount: -1 } });
  assert.throws(() => loadScenarioFile(path), (err: unknown) => err instanceof UsageError && !err.reason.includes('S3cret'));
});

test('resolveScenario keeps given values and ignores undefined ones', () => {
  const scenario = resolveScenario({ computerName: 'vm1', certificateCount: 0, timeZone: undefined });
  assert.equal(scenario.computerName, 'vm1');
  assert.equal(scenario.certificateCount, 0);
  assert.equal('timeZone' in scenario, false);
  assert.equal(scenario.adminUsername, 'azureuser');
  assert.throws(() => resolveScenario({ certificateCount: 1.5 }), /simulator option scenario\.certificateCount/);
  // The benchmark's largest row asks for 50 certificates.
  assert.equal(resolveScenario({ certificateCount: 64 }).certificateCount, 64);
});

test('validateScenario returns only known keys with their values', () => {
  const fail = (key: string, rule: string): Error => new Error(`${key} ${rule}`);
  assert.deepEqual(validateScenario({ customData: '', winRmHttps: false }, fail), { customData: '', winRmHttps: false });
});

test('generated admin passwords differ and meet the Windows complexity rule', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20; i += 1) {
    const password = generateAdminPassword();
    seen.add(password);
    assert.ok(password.length >= 12 && password.length <= 72);
    const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(password)).length;
    assert.ok(classes >= 3, password);
    assert.doesNotMatch(password, /azureuser/i);
  }
  assert.equal(seen.size, 20);
});
