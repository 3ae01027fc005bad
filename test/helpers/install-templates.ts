import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UNATTEND_FILES } from '../../build/msi.ts';
import { UNATTEND } from '../../build/project.ts';

/** What the MSI puts beside winprov.exe (build/msi.ts UNATTEND_FILES): the shipped templates and SetupComplete.cmd. */
export async function installTemplates(installDirectory: string): Promise<void> {
  await mkdir(installDirectory, { recursive: true });
  for (const name of UNATTEND_FILES) await cp(join(UNATTEND, name), join(installDirectory, name));
}
