import { readFile } from 'node:fs/promises';
import { StateError } from '../../errors.ts';

/** Largest answer file read: winprov's is about 3 KB, the merged content at most 2 x 4 KB more. */
const MAX_ANSWER_FILE_BYTES = 1024 * 1024;

/** Reads %WINDIR%\Panther\Unattend\unattend.xml as UTF-8; undefined when it does not exist. */
export async function readAnswerFile(path: string): Promise<{ path: string; xml: string } | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateError(`the answer file ${path} could not be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`, { cause: err });
  }
  if (bytes.byteLength > MAX_ANSWER_FILE_BYTES) throw new StateError(`the answer file ${path} is ${bytes.byteLength} bytes, over ${MAX_ANSWER_FILE_BYTES}`);
  return { path, xml: bytes.toString('utf8') };
}
