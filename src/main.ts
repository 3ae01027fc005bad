#!/usr/bin/env node
import { loadConfig, executableDirOf } from './config.ts';
import { toAgentError, EXIT_CODES } from './errors.ts';
import { HELP_TEXT, versionText } from './cli/help.ts';
import type { CommandIo } from './cli/io.ts';

/**
 * The executable: argv -> configuration -> command. The one place that turns an error into a message
 * and an exit code; nothing here or below prints a stack trace to the user.
 */
export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: CommandIo): Promise<number> {
  try {
    const config = loadConfig({ argv, env, executableDir: executableDirOf(process.execPath) });
    switch (config.command) {
      case 'help':
        io.out(HELP_TEXT);
        return EXIT_CODES.ok;
      case 'version':
        io.out(versionText());
        return EXIT_CODES.ok;
      case 'provision': {
        // The transport key is a run's costliest local work: with a processor to spare, start it before
        // the agent's modules load (transport-key.ts keyStartsWithRun).
        const transportKey = (await import('./crypto/transport-key.ts')).transportKeyForRun();
        return await (await import('./cli/provision.ts')).provisionCommand(config, io, transportKey);
      }
      case 'demo':
        return await (await import('./cli/demo.ts')).demoCommand(config, io);
      case 'simulate':
        return await (await import('./cli/simulate.ts')).simulateCommand(config, io);
      case 'status':
        return await (await import('./cli/status.ts')).statusCommand(config, io);
      case 'prepare-image':
        return await (await import('./cli/prepare-image.ts')).prepareImageCommand(config, io);
      case 'collect-logs':
        return await (await import('./cli/collect-logs.ts')).collectLogsCommand(config, io);
      case 'first-boot-script':
        return await (await import('./cli/first-boot-script.ts')).firstBootScriptCommand(config, io);
      case 'clear-answer-file':
        return await (await import('./cli/clear-answer-file.ts')).clearAnswerFileCommand(config, io);
      case 'remove-from-image':
        return await (await import('./cli/remove-from-image.ts')).removeFromImageCommand(config, io);
      case 'sandbox-interpreter':
        return await (await import('./cli/sandbox-interpreter.ts')).sandboxInterpreterCommand(io);
    }
  } catch (err) {
    const error = toAgentError(err);
    io.err(`winprov: ${error.describe()}\n`);
    return error.exitCode;
  }
}

/** Runs main for this process: wires stdout/stderr, signals and the exit code. */
export function runMain(): void {
  const controller = new AbortController();
  // Ctrl+C or a stop: simulate stops at once (it reads io.signal); no other command reads it, so 3 s
  // after the first signal, or at a second one, the process exits with the shell's code for the signal.
  // A run stopped so leaves its journal "running" (status says so) and its lock to the exit listener.
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      if (controller.signal.aborted) process.exit(code);
      controller.abort();
      setTimeout(() => process.exit(code), 3_000).unref();
    });
  }
  // A bug must still end in one line and a documented exit code, never a raw stack trace.
  const crash = (err: unknown) => {
    process.stderr.write(`winprov: ${toAgentError(err).describe()}\n`);
    process.exit(EXIT_CODES.unhandled);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const io: CommandIo = {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    signal: controller.signal,
  };
  main(process.argv.slice(2), process.env, io).then((code) => {
    process.exitCode = code;
  }, crash);
}

if (import.meta.main) runMain();
