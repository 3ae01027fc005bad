import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { SimulatorOptions } from '../../src/simulator/index.ts';
import { provisioningFixture, type ProvisioningFixture } from './provisioning.ts';
import { runCli } from './cli.ts';
import { installTemplates } from './install-templates.ts';

/** A build VM on the sandbox: the fixture, winprov's command line on it, and the two files of Setup's prepare-image writes. */
export interface ImageFixture {
  fx: ProvisioningFixture;
  /** `winprov <args> --platform sandbox --sandbox <root>`, in this process. */
  cli(...args: string[]): ReturnType<typeof runCli>;
  /** Windows/Panther/Unattend/unattend.xml in the sandbox. */
  answerFile: string;
  /** Windows/Setup/Scripts/SetupComplete.cmd in the sandbox. */
  setupComplete: string;
}

export interface ImageOptions extends SimulatorOptions {
  /** Provision the sandbox first (its state folder, marker and custom data are then there). */
  provisioned?: boolean;
  /** Install the MSI's templates beside winprov.exe (default true). */
  templates?: boolean;
}

/** Runs `work` on a fresh build VM as `options` ask, and closes it whatever happens. */
export async function withImage(options: ImageOptions, work: (image: ImageFixture) => Promise<void>): Promise<void> {
  const { provisioned = false, templates = true, ...simulator } = options;
  const fx = await provisioningFixture(simulator);
  try {
    if (provisioned) assert.equal((await fx.run()).outcome, 'ready');
    if (templates) await installTemplates(fx.platform.installDirectory);
    await work({
      fx,
      cli: (...args) => runCli([...args, '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]),
      answerFile: join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml'),
      setupComplete: join(fx.sandboxRoot, 'Windows', 'Setup', 'Scripts', 'SetupComplete.cmd'),
    });
  } finally {
    await fx.close();
  }
}
