import { test } from 'node:test';
import assert from 'node:assert/strict';
import { earlyLog } from '../../src/util/early-log.ts';
import type { Log } from '../../src/util/log.ts';

function recording(): { log: Log; lines: string[]; files: string[] } {
  const lines: string[] = [];
  const files: string[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push(`${level} ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), attachFile: (p) => void files.push(p), close: () => undefined }, lines, files };
}

test('lines written before the real log exists are handed to it in order, then lines go straight through', () => {
  const early = earlyLog();
  early.log.debug('starting powershell');
  early.log.warn('restarted', { attempt: 2 });
  early.log.attachFile('/nowhere/before.log');
  const real = recording();
  real.log.info('configuration from defaults');
  early.forwardTo(real.log);
  assert.deepEqual(real.lines, ['info configuration from defaults', 'debug starting powershell', 'warn restarted {"attempt":2}']);
  early.log.error('later');
  early.log.attachFile('/state/winprov.log');
  assert.deepEqual(real.lines.at(-1), 'error later');
  assert.deepEqual(real.files, ['/state/winprov.log'], 'a file attached before there was a log is not remembered');
});
