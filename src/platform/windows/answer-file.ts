import { readFile } from 'node:fs/promises';
import { StateError } from '../../errors.ts';
import { decodeUtf8 } from '../../protocol/xml.ts';

/** Largest answer file read: winprov's is about 3 KB, the merged content at most 2 x 4 KB more. */
const MAX_ANSWER_FILE_BYTES = 1024 * 1024;

/** Reads %WINDIR%\Panther\Unattend\unattend.xml as strict UTF-8; undefined when it does not exist. */
export async function readAnswerFile(path: string): Promise<{ path: string; xml: string } | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateError(`the answer file ${path} could not be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`, { cause: err });
  }
  if (bytes.byteLength > MAX_ANSWER_FILE_BYTES) throw new StateError(`the answer file ${path} is ${bytes.byteLength} bytes, over ${MAX_ANSWER_FILE_BYTES}`);
  // Strict: a file read leniently would be written back with U+FFFD where its bytes were not UTF-8.
  return { path, xml: decodeUtf8(bytes, (_, rule) => new StateError(`the answer file ${path} ${rule}; winprov changes only a UTF-8 answer file`)) };
}
