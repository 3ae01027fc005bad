import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformCommandError } from '../../errors.ts';
import { isWinprovStateEntry } from '../state-names.ts';
import type { AgentArtifacts } from '../image-types.ts';

/**
 * What winprov leaves on a machine, which prepare-image removes before sysprep so that the captured
 * image provisions every VM afresh: its files in the state folder (<ProgramData>\winprov: state.json,
 * provisioned.json, ovf-env.xml, winprov.log* ..., each name in state-names.ts; whatever else is there
 * is the image builder's and stays) and the custom data (<SystemDrive>\AzureData\CustomData.bin). The
 * paths are fixed, so Node lists and removes them itself; no PowerShell request is needed. The sandbox
 * uses the same functions on its folders.
 */

/** Where the artifacts are: the state folder and the system drive's root. */
export interface ArtifactLocations {
  stateDirectory: string;
  /** "C:" or "C:\\" on Windows; any folder standing in for it elsewhere. */
  systemDrive: string;
}

/** The files winprov writes into <SystemDrive>\AzureData (files.ps1 Write-WinprovCustomData; .tmp after a kill). */
const CUSTOM_DATA_FILES = ['CustomData.bin', 'CustomData.bin.tmp'];

/** "C:" names the current folder of drive C, not its root: the root is "C:\\". */
export function driveRoot(systemDrive: string): string {
  return /^[A-Za-z]:$/.test(systemDrive) ? `${systemDrive}\\` : systemDrive;
}

/** The AzureData folder of the system drive. */
export function azureDataDirectory(systemDrive: string): string {
  return join(driveRoot(systemDrive), 'AzureData');
}

async function kindOf(verb: string, path: string): Promise<'file' | 'directory' | undefined> {
  try {
    return (await stat(path)).isDirectory() ? 'directory' : 'file';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new PlatformCommandError(verb, `${path} cannot be examined (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function entries(verb: string, directory: string): Promise<string[]> {
  try {
    return (await readdir(directory)).sort();
  } catch (err) {
    throw new PlatformCommandError(verb, `${directory} cannot be listed (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

interface Found {
  /** The state folder's entries that are winprov's, and those that are not (state-names.ts). */
  state: string[];
  others: string[];
  /** The custom data files that exist. */
  customData: string[];
  /** The AzureData folder, when nothing but custom data files is in it. */
  azureData: string | undefined;
}

async function find(verb: string, locations: ArtifactLocations, keep: readonly string[]): Promise<Found> {
  const found: Found = { state: [], others: [], customData: [], azureData: undefined };
  const state = locations.stateDirectory;
  if ((await kindOf(verb, state)) === 'directory') {
    const kept = new Set(keep.map((name) => name.toLowerCase()));
    for (const name of await entries(verb, state)) {
      if (kept.has(name.toLowerCase())) continue;
      (isWinprovStateEntry(name) ? found.state : found.others).push(join(state, name));
    }
  }
  const azureData = azureDataDirectory(locations.systemDrive);
  if ((await kindOf(verb, azureData)) === 'directory') {
    const names = await entries(verb, azureData);
    const ours = names.filter((name) => CUSTOM_DATA_FILES.some((file) => file.toLowerCase() === name.toLowerCase()));
    found.customData = ours.map((name) => join(azureData, name));
    // A folder holding other files is not winprov's alone and stays.
    if (ours.length > 0 && ours.length === names.length) found.azureData = azureData;
  }
  return found;
}

function artifactsOf(found: Found): AgentArtifacts {
  return { ours: [...found.state, ...found.customData, ...(found.azureData === undefined ? [] : [found.azureData])], others: found.others };
}

/**
 * winprov's artifacts that exist, in removal order, and what else the state folder holds. `keep` names
 * state folder entries of winprov's that prepare-image still needs (the baseline, its own run lock): they
 * are neither listed nor removed. The state folder itself stays: prepare-image removes it at its end,
 * once it is empty.
 */
export async function listAgentArtifacts(locations: ArtifactLocations, keep: readonly string[] = []): Promise<AgentArtifacts> {
  return artifactsOf(await find('listAgentArtifacts', locations, keep));
}

/** Removes winprov's artifacts listAgentArtifacts finds; returns them, and what was kept. */
export async function removeAgentArtifacts(locations: ArtifactLocations, keep: readonly string[] = []): Promise<AgentArtifacts> {
  const found = await find('removeAgentArtifacts', locations, keep);
  try {
    // maxRetries: on Windows an antivirus scanner or the indexer briefly holding a file answers EBUSY/EPERM.
    for (const path of [...found.state, ...found.customData]) await rm(path, { recursive: true, force: true, maxRetries: 3 });
    if (found.azureData !== undefined) await rmdir(found.azureData);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new PlatformCommandError('removeAgentArtifacts', `${e.path ?? 'a file'} could not be removed (${e.code ?? 'error'})`);
  }
  return artifactsOf(found);
}
