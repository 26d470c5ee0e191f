// Reads the GitHub workflows as GitHub runs them: per job, the OIDC subject its token carries and the stage it acts on.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Json } from './stage-templates.js';

const WORKFLOWS = new URL('../../../../.github/workflows/', import.meta.url);

export interface WorkflowJob {
  readonly workflow: string;
  readonly id: string;
  readonly environment?: string;
  /** The job may request an OIDC token (`id-token: write`, job or workflow level). */
  readonly idToken: boolean;
  /** Events that start the workflow (`push`, `pull_request`, ...), with their branch filters. */
  readonly triggers: Readonly<Record<string, Json>>;
  /** `run:` commands with the workflow's and job's plain `env:` values substituted. */
  readonly commands: readonly string[];
  /** `with:` of the aws-actions/configure-aws-credentials step, if any. */
  readonly assumes?: { readonly role: string; readonly region: string };
  /** Step id -> its command, to follow `steps.<id>.outputs.*`. */
  readonly stepCommands: Readonly<Record<string, string>>;
}

export function workflowJobs(): WorkflowJob[] {
  const jobs: WorkflowJob[] = [];
  for (const file of readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f))) {
    const wf = parse(readFileSync(new URL(file, WORKFLOWS), 'utf8')) as Json;
    const triggers =
      typeof wf.on === 'string'
        ? { [wf.on]: {} }
        : Array.isArray(wf.on)
          ? Object.fromEntries(wf.on.map((e: string) => [e, {}]))
          : wf.on;
    for (const [id, job] of Object.entries(wf.jobs ?? {}) as Array<[string, Json]>) {
      const env: Record<string, string> = { ...(wf.env ?? {}), ...(job.env ?? {}) };
      const expand = (cmd: string) =>
        cmd.replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, (m, name: string) => {
          const v = env[name];
          return typeof v === 'string' && !v.includes('${{') ? v : m;
        });
      const steps = (job.steps ?? []) as Json[];
      const permissions = job.permissions ?? wf.permissions ?? {};
      const creds = steps.find((s) => String(s.uses ?? '').startsWith('aws-actions/configure-aws-credentials'));
      jobs.push({
        workflow: join('.github/workflows', file),
        id,
        environment: typeof job.environment === 'string' ? job.environment : job.environment?.name,
        idToken: permissions === 'write-all' || permissions['id-token'] === 'write',
        triggers,
        commands: steps.filter((s) => s.run).map((s) => expand(String(s.run).replace(/\s*\n\s*/g, ' '))),
        stepCommands: Object.fromEntries(steps.filter((s) => s.id && s.run).map((s) => [s.id, expand(String(s.run))])),
        ...(creds
          ? { assumes: { role: String(creds.with?.['role-to-assume']), region: String(creds.with?.['aws-region']) } }
          : {}),
      });
    }
  }
  return jobs;
}

/**
 * The `sub` claim GitHub puts in a job's OIDC token (GitHub docs, OpenID Connect reference, example subject claims):
 * a job with an environment gets `repo:<o>/<r>:environment:<name>`; otherwise a pull request gets
 * `repo:<o>/<r>:pull_request` and a branch run `repo:<o>/<r>:ref:refs/heads/<branch>`.
 */
export function oidcSubject(
  repo: string,
  job: { environment?: string },
  event: { pullRequest?: boolean; branch: string },
): string {
  if (job.environment) return `repo:${repo}:environment:${job.environment}`;
  if (event.pullRequest) return `repo:${repo}:pull_request`;
  return `repo:${repo}:ref:refs/heads/${event.branch}`;
}

/** Stages a job acts on: `--stage`, `--to` and the stage of a `--push .../tier-<stage>/{tier}` (not `--from`). */
export function targetStages(job: WorkflowJob): string[] {
  const found = new Set<string>();
  for (const cmd of job.commands) {
    for (const m of cmd.matchAll(/--(?:stage|to)\s+"?([a-z][a-z0-9-]*)"?/g)) found.add(m[1]!);
    for (const m of cmd.matchAll(/--push\s+"?\S*\/tier-([a-z][a-z0-9-]*)\//g)) found.add(m[1]!);
  }
  return [...found];
}

/** One step of a workflow job, as its YAML states it. */
export interface WorkflowStep {
  readonly id?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, string>;
}

/** One job of a workflow file, as its YAML states it. */
export interface WorkflowFileJob {
  readonly if?: string;
  readonly environment?: { name?: string } | string;
  readonly permissions?: Record<string, string>;
  readonly steps: WorkflowStep[];
}

/** A workflow file's jobs as written (no substitution), for tests of step order and conditions. */
export const workflowFile = (name: string) =>
  parse(readFileSync(new URL(name, WORKFLOWS), 'utf8')) as { jobs: Record<string, WorkflowFileJob> };
