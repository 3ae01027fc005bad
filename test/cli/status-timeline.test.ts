import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { provisioningFixture } from '../helpers/provisioning.ts';
import { runCli } from '../helpers/cli.ts';
import { KNOWN_TIMELINE, knownJournal } from '../timeline/known-journal.ts';

test('status --timeline draws the journal of the run that provisioned this VM', async () => {
  const fx = await provisioningFixture();
  try {
    assert.equal((await fx.run()).outcome, 'ready');
    const statePath = join(fx.sandboxRoot, 'ProgramData', 'winprov', 'state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8'));
    // The run's own times vary; a known journal of this VM makes the picture exact.
    await writeFile(statePath, JSON.stringify({ ...state, ...knownJournal() }));
    const { code, out } = await runCli(['status', '--timeline', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.equal(code, 0);
    const lines = out.split('\n');
    const first = lines.indexOf(KNOWN_TIMELINE[0]!);
    assert.ok(first > 0, `the timeline follows the status lines:\n${out}`);
    assert.deepEqual(lines.slice(first), [...KNOWN_TIMELINE, '']);
    const plain = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.doesNotMatch(plain.out, /timeline of run/, 'only with --timeline');
  } finally {
    await fx.close();
  }
});
