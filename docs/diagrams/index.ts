// The diagrams `npm run docs:render` draws, by output file name.
import { awsViews, viewGraph } from './aws.views.js';
import type { DotGraph } from './dot.js';
import { localDiagram, localOperationsDiagram } from './local.diagram.js';
import { pipelineDiagram } from './pipeline.js';
import { requestPathDiagram } from './request-path.js';

export interface DiagramSource {
  readonly name: string;
  readonly graph: () => DotGraph;
}

export const diagrams: readonly DiagramSource[] = [
  ...awsViews.map((v) => ({ name: v.name, graph: () => viewGraph(v) })),
  { name: 'local-environment', graph: localDiagram },
  { name: 'local-operations', graph: localOperationsDiagram },
  { name: 'request-path', graph: requestPathDiagram },
  { name: 'delivery-pipeline', graph: pipelineDiagram },
];
