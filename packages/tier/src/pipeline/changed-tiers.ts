// Change detection: which tiers a set of changed paths forces to redeploy (pure; no git, no I/O).
import { DEPLOY_ORDER, type TierName } from '../backend.js';

/** Where the deploy goes: some inputs (the local base image, the CDK app) matter to one target only. */
export type DeployTarget = 'local' | 'aws';

export interface PathDecision {
  readonly path: string;
  readonly tiers: readonly TierName[];
  /** The rule that decided, in words (shown by `changed-tiers --explain` and `tier pipeline`). */
  readonly rule: string;
  /** True when the path changes infrastructure of the target (applied by `tier up` / cdk deploy, not a tier rollout). */
  readonly infrastructure: boolean;
}

export interface ChangeSet {
  /** Tiers to redeploy, in deploy order (api before web: the web tier calls the API). */
  readonly tiers: TierName[];
  readonly decisions: PathDecision[];
  /** Changed infrastructure paths for the target (reported; not deployed by a tier rollout). */
  readonly infrastructure: string[];
}

interface Rule {
  readonly pattern: string;
  readonly tiers: readonly TierName[];
  readonly rule: string;
  readonly infrastructure?: boolean;
  /** The rule applies to this target only. */
  readonly only?: DeployTarget;
}

const BOTH = DEPLOY_ORDER;
const NONE: readonly TierName[] = [];

/**
 * First match wins. Order matters: documentation anywhere is never a reason to deploy, and the
 * local base image only matters locally (AWS builds FROM the public Node image).
 */
export const RULES: readonly Rule[] = [
  { pattern: '**/*.md', tiers: NONE, rule: 'documentation' },
  { pattern: 'docs/**', tiers: NONE, rule: 'documentation' },
  { pattern: 'apps/web/**', tiers: ['web'], rule: 'web tier source, assets or image' },
  { pattern: 'apps/api/**', tiers: ['api'], rule: 'api tier source, migrations or image' },
  { pattern: 'packages/runtime/**', tiers: BOTH, rule: 'shared runtime: in both images' },
  { pattern: 'package-lock.json', tiers: BOTH, rule: 'dependency lockfile: in both images' },
  { pattern: 'package.json', tiers: BOTH, rule: 'root manifest: in both images' },
  { pattern: 'tsconfig.base.json', tiers: BOTH, rule: 'compiler settings of both tiers' },
  { pattern: 'tsconfig.json', tiers: BOTH, rule: 'build graph of both tiers' },
  { pattern: 'tsconfig.check.json', tiers: NONE, rule: 'settings of the type-check-only projects: not in any image' },
  { pattern: '.npmrc', tiers: BOTH, rule: 'npm settings used by both image builds' },
  { pattern: '.dockerignore', tiers: BOTH, rule: 'build context of both images' },
  { pattern: 'infra/aws/package.json', tiers: BOTH, rule: 'workspace manifest copied into both image builds' },
  {
    pattern: 'infra/local/images/node/**',
    tiers: BOTH,
    rule: 'local Node base image of both tiers',
    only: 'local',
  },
  {
    pattern: 'infra/local/images/base/**',
    tiers: BOTH,
    rule: 'local Debian base image under the Node image',
    only: 'local',
  },
  {
    pattern: 'infra/local/**',
    tiers: NONE,
    rule: 'local infrastructure (apply with `tier up`)',
    infrastructure: true,
    only: 'local',
  },
  {
    pattern: 'infra/aws/**',
    tiers: NONE,
    rule: 'AWS infrastructure (apply with cdk deploy)',
    infrastructure: true,
    only: 'aws',
  },
  { pattern: 'infra/**', tiers: NONE, rule: "another target's infrastructure" },
  { pattern: 'packages/tier/**', tiers: NONE, rule: 'operations CLI: not in any image' },
  {
    pattern: 'packages/contract/**',
    tiers: NONE,
    rule: 'stack and output names of infra/aws and the CLI (apply with cdk deploy)',
    infrastructure: true,
    only: 'aws',
  },
  { pattern: 'packages/contract/**', tiers: NONE, rule: 'stack and output names of the AWS target: not in any image' },
  { pattern: 'scripts/**', tiers: NONE, rule: 'repository scripts: not in any image' },
  { pattern: 'test/**', tiers: NONE, rule: 'whole-system tests' },
  { pattern: 'bench/**', tiers: NONE, rule: 'benchmarks' },
  { pattern: '.github/**', tiers: NONE, rule: 'CI workflows' },
  { pattern: '.ci/**', tiers: NONE, rule: 'CI entry point' },
  { pattern: 'biome.json', tiers: NONE, rule: 'lint settings' },
  { pattern: '.gitignore', tiers: NONE, rule: 'git settings' },
  { pattern: 'audit-allowlist.json', tiers: NONE, rule: 'audit policy' },
  // Read by the scan gate against the built images; not in any image (.dockerignore).
  { pattern: 'image-allowlist.json', tiers: NONE, rule: 'image scan policy' },
  { pattern: 'LICENSE*', tiers: NONE, rule: 'license' },
];

/** Anything no rule knows could be in an image (new top-level files): redeploy both rather than ship a stale tier. */
const UNKNOWN = { tiers: BOTH, rule: 'not classified: both tiers, to be safe (add a rule in changed-tiers.ts)' };

export function detectChanges(paths: readonly string[], target: DeployTarget = 'local'): ChangeSet {
  const decisions = [...new Set(paths.map(normalise).filter(Boolean))].map((path) => decide(path, target));
  const wanted = new Set(decisions.flatMap((d) => d.tiers));
  return {
    tiers: DEPLOY_ORDER.filter((t) => wanted.has(t)),
    decisions,
    infrastructure: decisions.filter((d) => d.infrastructure).map((d) => d.path),
  };
}

export function decide(path: string, target: DeployTarget = 'local'): PathDecision {
  for (const r of RULES) {
    if (r.only && r.only !== target) continue;
    if (matches(r.pattern, path)) {
      return { path, tiers: r.tiers, rule: r.rule, infrastructure: r.infrastructure === true };
    }
  }
  return { path, ...UNKNOWN, infrastructure: false };
}

function normalise(path: string): string {
  return path.trim().replace(/^\.\//, '').replaceAll('\\', '/');
}

const compiled = new Map<string, RegExp>();

/** Minimal glob: `**` spans folders, `*` stays within one; a pattern without `/` is anchored at the root. */
export function matches(pattern: string, path: string): boolean {
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split(/(\*\*\/|\*\*|\*)/)
      .map((part) => {
        if (part === '**/') return '(?:.*/)?';
        if (part === '**') return '.*';
        if (part === '*') return '[^/]*';
        return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    re = new RegExp(`^${body}$`);
    compiled.set(pattern, re);
  }
  return re.test(path);
}
