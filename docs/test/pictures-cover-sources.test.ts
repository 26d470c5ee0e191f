// The pictures against what they draw, both ways: every box of the AWS and local models is in some picture and
// every picture box stands for a model box; the pipeline picture has exactly the workflows' jobs, needs and
// environments (read here straight from the YAML, not through the picture's own reader).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { awsNodes } from '../diagrams/aws.model.js';
import { awsViews, modelIdsOf, viewGraph } from '../diagrams/aws.views.js';
import { localDiagram, localOperationsDiagram } from '../diagrams/local.diagram.js';
import { localServices } from '../diagrams/local.model.js';
import { jobBoxId, pipelineDiagram, pipelineGraph } from '../diagrams/pipeline.js';
import { parseWorkflow, WORKFLOWS_DIR } from '../diagrams/workflows.js';

describe('the AWS views and the AWS model', () => {
  const modelIds = new Set(awsNodes.map((n) => n.id));
  const boxes = awsViews.flatMap((v) => [...(v.loose ?? []), ...v.groups.flatMap((g) => g.boxes)]);

  test('every box of a view stands for boxes of the model (and so for resources of the templates)', () => {
    const unknown = boxes.flatMap((b) =>
      modelIdsOf(b)
        .filter((id) => !modelIds.has(id))
        .map((id) => `${b.id}: ${id}`),
    );
    assert.deepEqual(unknown, []);
  });

  test('every box of the model is drawn in a focused view, not only in the overview', () => {
    const focused = awsViews.filter((v) => v.name !== 'aws-overview');
    const drawn = new Set(
      focused.flatMap((v) => [...(v.loose ?? []), ...v.groups.flatMap((g) => g.boxes)]).flatMap(modelIdsOf),
    );
    assert.deepEqual(
      [...modelIds].filter((id) => !drawn.has(id)),
      [],
    );
  });

  test('every arrow of a view joins two of its boxes', () => {
    for (const v of awsViews) {
      const g = viewGraph(v);
      const ids = new Set(g.nodes.map((n) => n.id));
      for (const e of g.edges) assert.ok(ids.has(e.from) && ids.has(e.to), `${v.name}: ${e.from} -> ${e.to}`);
    }
  });
});

test('every compose service of the local model is drawn in a local picture', () => {
  const drawn = new Set([...localDiagram().nodes, ...localOperationsDiagram().nodes].map((n) => n.id));
  assert.deepEqual(
    localServices.map((s) => s.name).filter((name) => !drawn.has(name)),
    [],
  );
});

describe('the pipeline picture and .github/workflows', () => {
  interface RawJob {
    needs?: string | string[];
    environment?: string | { name?: string };
  }
  const workflows = readdirSync(WORKFLOWS_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((file) => ({
      file,
      jobs: (parse(readFileSync(join(WORKFLOWS_DIR, file), 'utf8')) as { jobs: Record<string, RawJob> }).jobs,
    }));
  const graph = pipelineDiagram();
  const stem = (file: string) => file.replace(/\.ya?ml$/, '');

  test('one box per job, and no box without a job', () => {
    const jobs = workflows.flatMap((w) => Object.keys(w.jobs).map((j) => `${stem(w.file)}.${j}`)).sort();
    assert.deepEqual(graph.nodes.map((n) => n.id).sort(), jobs);
  });

  test('one arrow per `needs`, and no other arrow', () => {
    const needs = workflows
      .flatMap((w) =>
        Object.entries(w.jobs).flatMap(([j, job]) =>
          [job.needs ?? []].flat().map((n) => `${stem(w.file)}.${n} -> ${stem(w.file)}.${j}`),
        ),
      )
      .sort();
    assert.deepEqual(graph.edges.map((e) => `${e.from} -> ${e.to}`).sort(), needs);
  });

  test('each job shows its environment exactly as the workflow names it, and only jobs with one show any', () => {
    for (const w of workflows) {
      for (const [j, job] of Object.entries(w.jobs)) {
        const env = typeof job.environment === 'string' ? job.environment : job.environment?.name;
        const box = graph.nodes.find((n) => n.id === `${stem(w.file)}.${j}`)!;
        const shown = (box.details ?? []).filter((d) => d.startsWith('environment: '));
        assert.deepEqual(shown, env ? [`environment: ${env}`] : [], `${w.file} job ${j}`);
      }
    }
  });

  test('a job added to a workflow gets a box and its arrows', () => {
    const w = parseWorkflow(
      'x.yml',
      'name: x\non: push\njobs:\n  a:\n    steps: [{run: npm run ci:lint}]\n  b:\n    needs: a\n    environment: production\n',
    );
    const g = pipelineGraph([w]);
    assert.deepEqual(
      g.nodes.map((n) => n.id),
      [jobBoxId(w, 'a'), jobBoxId(w, 'b')],
    );
    assert.deepEqual(
      g.edges.map((e) => [e.from, e.to]),
      [[jobBoxId(w, 'a'), jobBoxId(w, 'b')]],
    );
    assert.ok(g.nodes[1]!.details?.includes('environment: production'));
  });
});
