// The delivery pipeline, drawn from .github/workflows/*.yml: one group per workflow, one box per job, an arrow per
// `needs`, the job's environment as the workflow names it. Nothing here is typed by hand, so it cannot drift.
import { type DotEdge, type DotGraph, type DotGroup, type DotNode, PIPELINE_ROLE_NAMES } from './dot.js';
import { loadWorkflows, type Workflow, type WorkflowJob } from './workflows.js';

/** Box id of a job: workflows reuse job names (both have `changes`). */
export const jobBoxId = (w: Workflow, job: string) => `${w.file.replace(/\.ya?ml$/, '')}.${job}`;

/** Commands that only look things up (the stage's role and region) say nothing about what a job does. */
const PLUMBING = new Set(['ci:stage']);

/** Wraps words into lines of at most `width` characters. */
function wrap(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  for (const w of words) {
    const last = lines.length - 1;
    if (last >= 0 && `${lines[last]}, ${w}`.length <= width) lines[last] = `${lines[last]}, ${w}`;
    else lines.push(w);
  }
  return lines;
}

function jobDetails(job: WorkflowJob): string[] {
  const details: string[] = [];
  if (job.environment) details.push(`environment: ${job.environment}`);
  if (job.condition) details.push(/tiers\s*!=\s*''/.test(job.condition) ? 'if a tier changed' : `if: ${job.condition}`);
  const commands = job.commands
    .filter((c) => !PLUMBING.has(c))
    .map((c) => c.replace(/^ci:/, '').replace(' (on failure)', ' if failed'));
  details.push(...wrap(commands, 24));
  return details;
}

const triggerText = (w: Workflow) =>
  w.triggers
    .filter((t) => t !== 'workflow_dispatch')
    .map((t) => (t === 'push' && w.branches.length > 0 ? `push to ${w.branches.join(', ')}` : t.replace('_', ' ')))
    .join(', ');

export function pipelineGraph(workflows: readonly Workflow[]): DotGraph {
  const nodes: DotNode[] = [];
  const edges: DotEdge[] = [];
  const groups: DotGroup[] = [];
  for (const w of workflows) {
    for (const job of w.jobs) {
      nodes.push({
        id: jobBoxId(w, job.id),
        title: job.id,
        details: jobDetails(job),
        role: job.environment === 'production' ? 'security' : job.environment ? 'pipeline' : 'ops',
      });
      for (const need of job.needs) edges.push({ from: jobBoxId(w, need), to: jobBoxId(w, job.id), kind: 'deploy' });
    }
    groups.push({
      id: w.file,
      label: `workflow "${w.name}" (${w.file}), on ${triggerText(w)}`,
      style: w.jobs.some((j) => j.environment) ? 'global' : 'plain',
      nodes: w.jobs.map((j) => jobBoxId(w, j.id)),
    });
  }
  return {
    title: 'Delivery pipeline: the GitHub workflows, job by job (arrows: needs)',
    direction: 'LR',
    nodes,
    edges,
    groups,
    legend: { roles: ['ops', 'pipeline', 'security'], flows: [], roleNames: PIPELINE_ROLE_NAMES },
    extra: 'ranksep=0.4; nodesep=0.25;',
  };
}

export function pipelineDiagram(): DotGraph {
  return pipelineGraph(loadWorkflows());
}
