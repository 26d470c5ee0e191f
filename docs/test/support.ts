// Helpers shared by the docs tests: the hand-written markdown files (generated output under rendered/ excluded).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function markdownFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'rendered' && entry.name !== 'node_modules') out.push(...(await markdownFiles(path)));
    } else if (entry.name.endsWith('.md')) {
      out.push(path);
    }
  }
  return out.sort();
}

export const readText = (file: string) => readFile(file, 'utf8');
