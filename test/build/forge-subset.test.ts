import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORGE_SUBSET } from '../../build/bundle.ts';
import { ROOT } from '../../build/project.ts';

test('the bundle\'s forge subset registers every forge namespace src/crypto uses', () => {
  const dir = join(ROOT, 'src/crypto');
  const used = new Set<string>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    // Comments may name parts of forge the code does not use ("forge.pkcs7 cannot read it").
    const code = readFileSync(join(dir, name), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const match of code.matchAll(/\bforge\.(\w+)(?:\.(\w+))?/g)) used.add(match[2] && match[1] === 'pki' ? `pki.${match[2]}` : match[1]!);
  }
  assert.ok(used.has('asn1'), 'the scan finds forge uses');
  // A child process: in this one the full node-forge may already be loaded, registering everything.
  const probe = `const f = require(${JSON.stringify(FORGE_SUBSET)}); console.log(JSON.stringify(${JSON.stringify([...used])}.filter((p) => p.split('.').reduce((o, k) => o?.[k], f) === undefined)))`;
  const missing = JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })) as string[];
  assert.deepEqual(missing, []);
});
