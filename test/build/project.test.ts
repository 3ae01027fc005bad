import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gitCommit, parseVersionLine, readPackage, versionLineProblem } from '../../build/project.ts';

const expected = { version: '0.1.0', nodeVersion: '24.21.0', commit: '98983ae' };

test('the --version line is taken apart into version, Node version and commit', () => {
  assert.deepEqual(parseVersionLine('winprov 0.1.0 (node v24.21.0, commit 98983ae)\n'), { version: '0.1.0', node: 'v24.21.0', commit: '98983ae' });
  assert.equal(parseVersionLine('winprov 0.1.0\n'), undefined);
  assert.equal(parseVersionLine('winprov 0.1.0 (node v24.21.0, commit 98983ae)\nwinprov 0.1.0 (node v24.21.0, commit 98983ae)\n'), undefined);
});

test('a --version line with another version, Node or commit is reported with what differs', () => {
  assert.equal(versionLineProblem('winprov 0.1.0 (node v24.21.0, commit 98983ae)\n', expected), undefined);
  assert.match(versionLineProblem('winprov 0.2.0 (node v24.21.0, commit 98983ae)\n', expected)!, /version 0\.2\.0, package\.json has 0\.1\.0/);
  assert.match(versionLineProblem('winprov 0.1.0 (node v20.19.0, commit 98983ae)\n', expected)!, /node v20\.19\.0, the pinned runtime is v24\.21\.0/);
  assert.match(versionLineProblem('winprov 0.1.0 (node v24.21.0, commit source)\n', expected)!, /commit source, expected 98983ae/);
  assert.match(versionLineProblem('usage: winprov ...', expected)!, /not "winprov <version>/);
});

test('package.json pins the exact Node version the executables embed, and it is the one running', () => {
  const { version, nodeVersion } = readPackage();
  assert.match(version, /^\d+\.\d+\.\d+/);
  assert.equal(nodeVersion, process.versions.node);
});

test('the commit is a short hex id in a checkout', () => {
  assert.match(gitCommit(), /^([0-9a-f]{7,}|unknown)$/);
});
