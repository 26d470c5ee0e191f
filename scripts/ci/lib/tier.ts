// Runs the repository's own `tier` CLI (packages/tier/bin/tier.js) from CI scripts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEPLOY_ORDER, TIERS, type TierName } from '@tier/cli';

const TIER_BIN = fileURLToPath(new URL('../../../packages/tier/bin/tier.js', import.meta.url));

/** Runs `tier <args>`; stdio inherited unless `capture`, then stdout is returned. Rejects on a non-zero exit. */
export function tier(args: string[], opts: { capture?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TIER_BIN, ...args], {
      stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(Object.assign(new Error(`tier ${args.join(' ')} exited ${code}`), { hint: 'see its output above' })),
    );
  });
}

/** Global options that pick the environment: `--target local` or `--target aws --stage <stage>`. */
export function targetArgs(target: string, stage?: string): string[] {
  if (target !== 'local' && target !== 'aws') {
    throw Object.assign(new Error(`--target '${target}' is not local or aws`), {
      hint: 'use --target local or --target aws --stage <stage>',
    });
  }
  return target === 'aws' ? ['--target', 'aws', '--stage', stage ?? 'dev'] : ['--target', 'local'];
}

/**
 * `--tiers web,api` (a change-detection output, possibly empty: no tier) or repeated `--tier`; neither given means
 * every tier, in deploy order.
 */
export function tierList(csv: string | undefined, repeated: string[] | undefined): TierName[] {
  if (csv === undefined && !repeated?.length) return [...DEPLOY_ORDER];
  const list = [...(csv ?? '').split(','), ...(repeated ?? [])].map((t) => t.trim()).filter(Boolean);
  for (const t of list) {
    if (!(TIERS as readonly string[]).includes(t))
      throw Object.assign(new Error(`unknown tier '${t}'`), { hint: `use ${TIERS.join(' and/or ')}` });
  }
  return [...new Set(list)] as TierName[];
}
