import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformCommandError } from '../../errors.ts';

/**
 * What winprov leaves on a machine, which prepare-image removes before sysprep so that the captured
 * image provisions every VM afresh: the state folder (<ProgramData>\winprov: state.json,
 * provisioned.json, ovf-env.xml, winprov.log*, setupcomplete.log) and the custom data
 * (<SystemDrive>\AzureData\CustomData.bin). The paths are fixed, so Node lists and removes them itself;
 * no PowerShell request is needed.
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
  /** The state folder's entries, then the folder itself; empty when there is no state folder. */
  state: string[];
  /** The custom data files that exist. */
  customData: string[];
  /** The AzureData folder, when nothing but custom data files is in it. */
  azureData: string | undefined;
}

async function find(verb: string, locations: ArtifactLocations): Promise<Found> {
  const found: Found = { state: [], customData: [], azureData: undefined };
  const state = locations.stateDirectory;
  if ((await kindOf(verb, state)) === 'directory') {
    found.state = [...(await entries(verb, state)).map((name) => join(state, name)), state];
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

/**
 * The artifacts that exist, in removal order: each entry of the state folder, then the folder itself;
 * the custom data files, then the AzureData folder when nothing else is in it.
 */
export async function listAgentArtifacts(locations: ArtifactLocations): Promise<string[]> {
  const found = await find('listAgentArtifacts', locations);
  return [...found.state, ...found.customData, ...(found.azureData === undefined ? [] : [found.azureData])];
}

/** Removes the artifacts listAgentArtifacts finds; returns their paths. */
export async function removeAgentArtifacts(locations: ArtifactLocations): Promise<string[]> {
  const found = await find('removeAgentArtifacts', locations);
  try {
    // maxRetries: on Windows an antivirus scanner or the indexer briefly holding a file answers EBUSY/EPERM.
    if (found.state.length > 0) await rm(locations.stateDirectory, { recursive: true, force: true, maxRetries: 3 });
    for (const path of found.customData) await rm(path, { force: true, maxRetries: 3 });
    if (found.azureData !== undefined) await rmdir(found.azureData);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new PlatformCommandError('removeAgentArtifacts', `${e.path ?? 'a file'} could not be removed (${e.code ?? 'error'})`);
  }
  return [...found.state, ...found.customData, ...(found.azureData === undefined ? [] : [found.azureData])];
}
