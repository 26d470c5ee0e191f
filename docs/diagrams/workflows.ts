// Reads .github/workflows/*.yml into what the pipeline picture shows: each workflow's jobs, their needs,
// environments and the repository commands they run.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_DIR } from '../tools/paths.js';

export const WORKFLOWS_DIR = join(REPO_DIR, '.github', 'workflows');

export interface WorkflowJob {
  readonly id: string;
  readonly needs: readonly string[];
  /** The GitHub environment the job runs in, exactly as the workflow names it. */
  readonly environment?: string;
  /** The job's `if:` condition. */
  readonly condition?: string;
  /** `npm run <script>` and `npx <cmd>` commands of its steps, in order, with `(on failure)` for failure() steps. */
  readonly commands: readonly string[];
}

export interface Workflow {
  readonly file: string;
  readonly name: string;
  /** Trigger events (`on:` keys), e.g. push, pull_request. */
  readonly triggers: readonly string[];
  readonly branches: readonly string[];
  readonly jobs: readonly WorkflowJob[];
}

interface RawStep {
  run?: string;
  if?: string;
  uses?: string;
}
interface RawJob {
  needs?: string | string[];
  environment?: string | { name?: string };
  if?: string;
  steps?: RawStep[];
}

/** The repository commands a step runs: `npm run x` -> `x`, `npx tier up` -> `tier up`. */
function commandsOf(step: RawStep): string[] {
  const out: string[] = [];
  for (const m of (step.run ?? '').matchAll(/(?:npm run ([\w:-]+)|npx ((?:tier|cdk) [\w-]+))/g))
    out.push(m[1] ?? m[2]!);
  const failure = /failure\(\)/.test(step.if ?? '');
  return out.map((c) => (failure ? `${c} (on failure)` : c));
}

export function parseWorkflow(file: string, text: string): Workflow {
  const doc = parse(text) as { name?: string; on?: unknown; jobs?: Record<string, RawJob> };
  const on = doc.on;
  const triggers = typeof on === 'string' ? [on] : Array.isArray(on) ? on.map(String) : Object.keys(on ?? {});
  const push = on && typeof on === 'object' && !Array.isArray(on) ? (on as Record<string, unknown>).push : undefined;
  const branches = ((push as { branches?: string[] } | null)?.branches ?? []).map(String);
  const jobs = Object.entries(doc.jobs ?? {}).map(([id, job]): WorkflowJob => {
    const env = typeof job.environment === 'string' ? job.environment : job.environment?.name;
    const needs = job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
    return {
      id,
      needs,
      ...(env ? { environment: env } : {}),
      ...(job.if ? { condition: job.if } : {}),
      commands: (job.steps ?? []).flatMap(commandsOf),
    };
  });
  return { file, name: doc.name ?? file, triggers, branches, jobs };
}

/** Every workflow in .github/workflows, by file name. */
export function loadWorkflows(dir = WORKFLOWS_DIR): Workflow[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => parseWorkflow(f, readFileSync(join(dir, f), 'utf8')));
}
