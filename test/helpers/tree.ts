import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file and folder under root, each file with a SHA-256 of its bytes: two equal snapshots mean nothing changed. */
export async function snapshotTree(root: string): Promise<Map<string, string>> {
  const tree = new Map<string, string>();
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        tree.set(`${relative(root, path)}/`, 'folder');
        await walk(path);
      } else {
        tree.set(relative(root, path), createHash('sha256').update(await readFile(path)).digest('hex'));
      }
    }
  };
  await walk(root);
  return tree;
}
