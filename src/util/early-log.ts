import type { Log, LogFields } from './log.ts';

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * A Log for the first milliseconds of `provision`: the Windows platform starts PowerShell before the
 * logger (tslog) and the agent's modules are loaded (issue 13), and what it says meanwhile is held
 * here, in order, until `forwardTo` hands it to the real log (its lines then carry the time they were
 * written out, a few ms late).
 */
export function earlyLog(): { log: Log; forwardTo(log: Log): void } {
  let target: Log | undefined;
  const held: Array<[Level, string, LogFields | undefined]> = [];
  const at = (level: Level) => (message: string, fields?: LogFields) => {
    if (target === undefined) held.push([level, message, fields]);
    else target[level](message, fields);
  };
  return {
    log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), attachFile: (path) => target?.attachFile(path), close: () => target?.close() },
    forwardTo(log) {
      target = log;
      for (const [level, message, fields] of held.splice(0)) log[level](message, fields);
    },
  };
}
