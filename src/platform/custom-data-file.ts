import { readFile, stat } from 'node:fs/promises';
import { Secret } from '../util/secret.ts';

/**
 * CustomData.bin as the provisioning run saved it (AzureData), read back for the first-boot script: absent
 * (undefined), too large for it (the size, never the bytes), or its bytes as a secret. One reader for the
 * Windows and the sandbox platform; only the folder differs.
 */
export async function readSavedCustomData(path: string, maxBytes: number): Promise<Secret<Uint8Array> | { tooLarge: number } | undefined> {
  const size = await stat(path).then((s) => s.size, (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (size === undefined) return undefined;
  if (size > maxBytes) return { tooLarge: size };
  return new Secret(new Uint8Array(await readFile(path)));
}
