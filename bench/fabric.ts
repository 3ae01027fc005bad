import { performance } from 'node:perf_hooks';
import { FabricSimulator } from '../src/simulator/index.ts';

/**
 * One fabric simulator per benchmark row, in the benchmark process, with a clock on the acknowledged
 * Ready: the simulator calls back once it has judged a health report, and the callback reads
 * performance.now(), the clock the agent's spawn time was read with.
 */

/** What a row's simulated VM looks like. */
export interface FabricScenario {
  certificates: number;
  /** Bytes of custom data (ASCII text, so bytes = characters); 0 for none. */
  customDataBytes: number;
}

export class BenchFabric {
  readonly simulator: FabricSimulator;
  #waiter: ((at: number) => void) | undefined;

  private constructor(scenario: FabricScenario) {
    this.simulator = new FabricSimulator({
      scenario: {
        certificateCount: scenario.certificates,
        customData: scenario.customDataBytes > 0 ? customData(scenario.customDataBytes) : undefined,
        provisionGuestAgent: true,
      },
      onHealthReport: (report) => {
        if (report.state !== 'Ready' || !report.accepted) return;
        const at = performance.now();
        const waiter = this.#waiter;
        this.#waiter = undefined;
        waiter?.(at);
      },
    });
  }

  /** Starts a simulator for the scenario (its tenant certificates are generated here, before any timing). */
  static async start(scenario: FabricScenario): Promise<BenchFabric> {
    const fabric = new BenchFabric(scenario);
    await fabric.simulator.start();
    return fabric;
  }

  get url(): string {
    return this.simulator.url;
  }

  /**
   * Resolves with the benchmark-clock time of the next accepted Ready report. Runs are sequential, so
   * the next Ready is the one of the run started after this call; one waiter at a time.
   */
  nextReady(): { at: Promise<number>; cancel: () => void } {
    if (this.#waiter !== undefined) throw new Error('a Ready is already awaited on this simulator');
    let cancel = (): void => {};
    const at = new Promise<number>((resolve, reject) => {
      this.#waiter = resolve;
      cancel = () => {
        if (this.#waiter === resolve) this.#waiter = undefined;
        reject(new Error('no accepted Ready report'));
      };
    });
    at.catch(() => {});
    return { at, cancel };
  }

  stop(): Promise<void> {
    return this.simulator.stop();
  }
}

/** Printable custom data of the given size (a script-like text; its content does not matter to the agent). */
export function customData(bytes: number): string {
  const line = 'Write-Output "winprov benchmark custom data 0123456789abcdefghijklmnopqrstuvwxyz"\n';
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}
