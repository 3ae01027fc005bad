import type { AgentState } from '../../src/platform/platform.ts';

/** A known journal and its text timeline (src/timeline.ts), shared by the renderer's and the CLI's tests. */

const at = (ms: number) => new Date(Date.parse('2026-01-01T00:00:00.000Z') + ms).toISOString();

/** A journal with parallel steps, a skipped one, a failed one and one still running. */
export function knownJournal(): Pick<AgentState, 'runId' | 'startedAt' | 'finishedAt' | 'result' | 'steps'> {
  const steps: [string, number, number | undefined, 'ok' | 'failed' | 'skipped' | undefined][] = [
    ['identity', 0, 10, 'ok'], ['provisioning-config', 10, 40, 'ok'], ['dhcp', 12, 20, 'ok'], ['discover', 32, 1, 'ok'],
    ['versions', 33, 30, 'ok'], ['goal-state', 63, 27, 'ok'], ['certificates', 95, 105, 'ok'], ['winrm', 200, 0, 'skipped'],
    ['admin-account', 200, 93, 'failed'], ['marker', 300, 5, 'ok'], ['ready', 400, 50, 'ok'], ['guest-agent', 450, undefined, undefined],
  ];
  return {
    runId: 'run-1',
    startedAt: at(0),
    finishedAt: at(500),
    result: 'ready',
    steps: steps.map(([name, start, durationMs, outcome]) => ({ name, startedAt: at(start), ...(durationMs === undefined ? {} : { durationMs }), ...(outcome === undefined ? {} : { outcome }) })),
  };
}

export const KNOWN_TIMELINE = [
  'timeline of run run-1 (ready): 500 ms, one column = 10 ms',
  '  identity             |#                                                 |      0 ms  10 ms',
  '  provisioning-config  | ####                                             |     10 ms  40 ms',
  '  dhcp                 | ###                                              |     12 ms  20 ms',
  '  discover             |   #                                              |     32 ms  1 ms',
  '  versions             |   ####                                           |     33 ms  30 ms',
  '  goal-state           |      ###                                         |     63 ms  27 ms',
  '  certificates         |         ###########                              |     95 ms  105 ms',
  '  admin-account        |                    xxxxxxxxxx                    |    200 ms  93 ms failed',
  '  marker               |                              #                   |    300 ms  5 ms',
  '  ready                |                                        #####     |    400 ms  50 ms',
  '  guest-agent          |                                             >>>>>|    450 ms  running',
  '  skipped: winrm',
];
