import { join } from 'node:path';
import { MediaNotFoundError, OvfError } from '../errors.ts';
import { Secret } from '../util/secret.ts';
import { FileTooLargeError, readRegularFile } from '../util/files.ts';
import type { ProvisioningMedia } from './platform.ts';

/**
 * Reads ovf-env.xml and CustomData.bin from the root of the provisioning media, in Node on every
 * platform: on Windows the PowerShell side only finds the drive, so the bytes (ovf-env.xml holds the
 * admin password) never pass through a cmdlet. Each read is capped: the media is outside input, and a
 * file far larger than Azure ever writes is refused instead of read whole.
 */

/** ovf-env.xml with 64 KiB of custom data in base64 is under 100 KiB; 1 MiB is the XML layer's own cap too. */
const OVF_ENV_MAX_BYTES = 1024 * 1024;
/** Azure's custom data is at most 64 KiB (after base64 decoding); a little slack for other writers. */
const CUSTOM_DATA_MAX_BYTES = 256 * 1024;

/** The media at `folder` (shown to people as `location`). */
export async function readMediaFiles(folder: string, location: string): Promise<ProvisioningMedia> {
  // Both files at once: each read is a few file system round trips, and on a run's critical path every
  // one of them waits for the main thread between other work (issue 13). ovf-env.xml's fault is judged
  // first, without waiting for CustomData.bin: a drive that hangs on that one file must not turn a
  // missing ovf-env.xml into a timeout.
  const ovfEnvRead = readCapped(join(folder, 'ovf-env.xml'), OVF_ENV_MAX_BYTES, location, () => new OvfError('(document)', `is larger than ${OVF_ENV_MAX_BYTES} bytes`));
  const customDataRead = readCapped(join(folder, 'CustomData.bin'), CUSTOM_DATA_MAX_BYTES, location, () =>
    new MediaNotFoundError(`CustomData.bin on the provisioning media at ${location} is larger than ${CUSTOM_DATA_MAX_BYTES} bytes`));
  // Awaited below once ovf-env.xml is read; observed now, so that its fault is never an unhandled
  // rejection when ovf-env.xml's is the one thrown.
  customDataRead.catch(() => {});
  const ovfEnv = await ovfEnvRead;
  if (ovfEnv === undefined) throw new MediaNotFoundError(`the provisioning media at ${location} has no ovf-env.xml`);
  const customData = await customDataRead;
  return { location, ovfEnv: new Secret(ovfEnv), customData: customData === undefined ? undefined : new Secret(customData) };
}

/** A media file read whole (util/files.ts), its faults named as the media's. */
async function readCapped(path: string, maxBytes: number, location: string, tooLarge: () => Error): Promise<Uint8Array | undefined> {
  try {
    return await readRegularFile(path, maxBytes);
  } catch (err) {
    // A folder of that name (EISDIR), a FIFO, a drive that fails mid-read (EIO): named, never a bare fs error.
    throw err instanceof FileTooLargeError ? tooLarge() : unreadable(path, location, err);
  }
}

/** A media file that could not be opened or read, named with the system's code. */
function unreadable(path: string, location: string, err: unknown): MediaNotFoundError {
  return new MediaNotFoundError(`${path} on the provisioning media at ${location} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
}
