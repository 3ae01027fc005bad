import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateError } from '../../../src/errors.ts';
import type { AgentState, CompletionMarker } from '../../../src/platform/platform.ts';
import { WindowsPlatform } from '../../../src/platform/windows/windows-platform.ts';
import { FakeRunner } from './fake-runner.ts';

async function tempProgramData(t: TestContext): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'winprov-programdata-'));
  t.after(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

function platformIn(programData: string) {
  const runner = new FakeRunner((verb, params) => (verb === 'ensureStateDirectory' ? { result: { path: params.path } } : { error: { message: `unexpected ${verb}` } }));
  return { runner, platform: new WindowsPlatform({ runner, programData }) };
}

function state(steps: number): AgentState {
  return {
    version: 1,
    vmId: 'd0df4c54-4ecb-4a4b-9954-5bdf3ed5c3b8',
    agentVersion: '0.1.0',
    runId: 'run-1',
    startedAt: '2026-01-01T00:00:00.000Z',
    result: 'running',
    steps: Array.from({ length: steps }, (_, i) => ({ name: `step-${i}`, startedAt: '2026-01-01T00:00:00.000Z', detail: 'x'.repeat(200) })),
    applied: [],
    reports: [],
  };
}

const MARKER: CompletionMarker = { vmId: 'd0df4c54-4ecb-4a4b-9954-5bdf3ed5c3b8', provisionedAt: '2026-01-01T00:05:00.000Z', agentVersion: '0.1.0', containerId: 'c1', instanceId: 'i1' };

test('state, marker and ovf-env copy live in <ProgramData>\\winprov, whose ACL PowerShell sets once', async (t) => {
  const programData = await tempProgramData(t);
  const { runner, platform } = platformIn(programData);
  assert.equal(await platform.readAgentState(), undefined);
  assert.equal(await platform.readCompletionMarker(), undefined);
  await platform.writeAgentState(state(2));
  await platform.writeCompletionMarker(MARKER);
  await platform.saveOvfEnvCopy('<Environment><AdminPassword>[redacted]</AdminPassword></Environment>');
  assert.deepEqual(await platform.readAgentState(), state(2));
  assert.deepEqual(await platform.readCompletionMarker(), MARKER);
  const folder = join(programData, 'winprov');
  assert.equal(platform.stateDirectory, folder);
  assert.deepEqual((await readdir(folder)).sort(), ['ovf-env.xml', 'provisioned.json', 'state.json'], 'no temporary file is left behind');
  assert.equal(await readFile(join(folder, 'ovf-env.xml'), 'utf8'), '<Environment><AdminPassword>[redacted]</AdminPassword></Environment>');
  const asked = runner.allRequests().filter((r) => r.verb === 'ensureStateDirectory');
  assert.deepEqual(asked.map((r) => r.params), [{ path: folder }]);
  await platform.close();
});

test('a reader never sees half a state file while it is rewritten', async (t) => {
  const programData = await tempProgramData(t);
  const { platform } = platformIn(programData);
  await platform.writeAgentState(state(1));
  let writing = true;
  const reads: number[] = [];
  const reader = (async () => {
    while (writing) {
      const read = await platform.readAgentState();
      reads.push(read?.steps.length ?? -1);
    }
  })();
  for (let i = 0; i < 15; i += 1) await platform.writeAgentState(state(i % 2 === 0 ? 4_000 : 1));
  writing = false;
  await reader;
  assert.ok(reads.length > 0);
  assert.ok(reads.every((n) => n === 1 || n === 4_000), 'every read is a whole old or whole new file');
  await platform.close();
});

test('a damaged or foreign state file is a StateError, not "no state"', async (t) => {
  const programData = await tempProgramData(t);
  const folder = join(programData, 'winprov');
  await mkdir(folder, { recursive: true });
  const { platform } = platformIn(programData);
  const cases: [string, string, RegExp][] = [
    ['state.json', '{"version":1,"vmId":"x",', /state\.json is not valid JSON/],
    ['state.json', '[]', /state\.json is not a JSON object/],
    ['state.json', JSON.stringify({ ...state(0), version: 2 }), /state\.json field version: must be 1/],
    ['state.json', JSON.stringify({ ...state(0), steps: 'none' }), /state\.json field steps: must be an array/],
    ['provisioned.json', JSON.stringify({ ...MARKER, instanceId: 5 }), /provisioned\.json field instanceId: must be a string/],
    // The records a re-run carries over and adds to before Ready, and status prints.
    ['state.json', JSON.stringify({ ...state(0), warnings: { note: 'hand edit' } }), /state\.json field warnings: must be an array of at most 10000 objects with a step, a message and an at date/],
    ['state.json', JSON.stringify({ ...state(0), warnings: [null] }), /field warnings: must be an array/],
    ['state.json', JSON.stringify({ ...state(0), warnings: [{ message: 'no step', at: '2026-01-01T00:00:00Z' }] }), /field warnings: must be/],
    ['state.json', JSON.stringify({ ...state(0), adminAccount: 'azureuser' }), /field adminAccount: must be an object with a name and a sid/],
    ['state.json', JSON.stringify({ ...state(0), failure: { code: 1 } }), /field failure: must be an object with a code and a reason/],
    ['state.json', JSON.stringify({ ...state(0), fabric: { endpoint: '168.63.129.16' } }), /field fabric: must be an object with an endpoint and a source/],
    ['state.json', JSON.stringify({ ...state(0), rdpCertificate: { posted: 'yes', at: '2026-01-01T00:00:00Z' } }), /field rdpCertificate: must be an object with posted and an at date/],
    ['state.json', JSON.stringify({ ...state(0), result: 'done' }), /field result: must be ready, failed, running or applied/],
  ];
  for (const [name, text, reason] of cases) {
    await writeFile(join(folder, name), text);
    const read = name === 'state.json' ? platform.readAgentState() : platform.readCompletionMarker();
    await assert.rejects(read, (err: unknown) => err instanceof StateError && reason.test(err.message));
  }
  await platform.close();
});

test('when PowerShell cannot prepare the folder, nothing is written and the next write tries again', async (t) => {
  const programData = await tempProgramData(t);
  let failures = 1;
  const runner = new FakeRunner((verb, params) => {
    if (verb !== 'ensureStateDirectory') return { error: { message: 'unexpected' } };
    if (failures-- > 0) return { error: { message: 'Attempted to perform an unauthorized operation.', fullyQualifiedErrorId: 'UnauthorizedAccessException' } };
    return { result: { path: params.path } };
  });
  const platform = new WindowsPlatform({ runner, programData });
  await assert.rejects(platform.writeCompletionMarker(MARKER), /ensureStateDirectory failed: Attempted to perform an unauthorized operation/);
  await assert.rejects(readdir(join(programData, 'winprov')), { code: 'ENOENT' });
  await platform.writeCompletionMarker(MARKER);
  assert.deepEqual(await platform.readCompletionMarker(), MARKER);
  await platform.close();
});
