import { runSimulateCommand } from '../simulator/cli.ts';
import type { AgentConfig } from '../config.ts';
import type { CommandIo } from './io.ts';

/** `winprov simulate`: a fabric simulator and an IMDS simulator on loopback until Ctrl+C. */
export async function simulateCommand(config: Readonly<AgentConfig>, io: CommandIo): Promise<number> {
  await runSimulateCommand(
    { host: config.host, port: config.port, imdsPort: config.imdsPort, scenarioFile: config.scenarioFile, mediaDir: config.mediaDir },
    (line) => io.out(`${line}\n`),
    io.signal,
  );
  return 0;
}
