import { isTemporaryFileName } from '../util/files.ts';
import { MARKER_FILE, OVF_COPY_FILE, STATE_FILE } from './state-files.ts';

/**
 * The names of everything winprov writes in its state folder (%ProgramData%\winprov), in one place.
 * prepare-image removes these before capture and nothing else: the folder is a well-known place, and an
 * image builder's own files there (notes, a tool's output) belong to the image.
 */

/** The log (util/log.ts), rotated to winprov.log.1, .2 ... */
export const LOG_FILE = 'winprov.log';
/** The run lock (run-lock.ts), with its side files: "<lock>.<nonce>.new" while it is created, "<lock>.takeover-<id>" guards. */
export const LOCK_FILE = 'winprov.lock';
/** The image's own remote access, recorded by prepare-image --record-baseline (cli/remote-access.ts). */
export const BASELINE_FILE = 'image-baseline.json';
/** The first-boot script's record (first-boot/record.ts). */
export const FIRST_BOOT_RECORD_FILE = 'first-boot.json';
/** The folder the first-boot script file is written to (first-boot/run.ts). */
export const FIRST_BOOT_SCRIPT_FOLDER = 'first-boot';
/** What SetupComplete.cmd appends to (windows/setup-complete.ts, unattend/SetupComplete.cmd). */
export const SETUP_COMPLETE_LOG = 'setupcomplete.log';

/** The first-boot script's output log of one source (first-boot/output.ts rotates it to ".1"). */
export function firstBootLogName(source: string): string {
  return `first-boot-${source}.log`;
}

const FIXED = [STATE_FILE, MARKER_FILE, OVF_COPY_FILE, BASELINE_FILE, FIRST_BOOT_RECORD_FILE, FIRST_BOOT_SCRIPT_FOLDER, SETUP_COMPLETE_LOG].map((n) => n.toLowerCase());
const ROTATED_LOG = /^winprov\.log(?:\.\d+)?$/i;
const FIRST_BOOT_LOG = /^first-boot-[a-z]+\.log(?:\.1)?$/i;
// The lock, its takeover guards (a guard's own guard at most two deep) and the files each is created from.
const LOCK_ENTRY = /^winprov\.lock(?:\.takeover-[A-Za-z0-9-]+)*(?:\.[0-9a-f-]+\.new)?$/i;

/**
 * True for a name winprov gives an entry of its state folder, compared as Windows compares file names
 * (case-insensitively). The temporary files of writeFileAtomic count too: every run under the lock
 * removes any left there already (cli/exclusive-run.ts).
 */
export function isWinprovStateEntry(name: string): boolean {
  return FIXED.includes(name.toLowerCase()) || ROTATED_LOG.test(name) || FIRST_BOOT_LOG.test(name) || LOCK_ENTRY.test(name) || isTemporaryFileName(name);
}
