// The diagrams `npm run docs:render` draws, by output file name.
import { awsDiagram } from './aws.diagram.js';
import type { DotGraph } from './dot.js';
import { localDiagram } from './local.diagram.js';
import { pipelineDiagram } from './pipeline.js';
import { requestPathDiagram } from './request-path.js';

export interface DiagramSource {
  readonly name: string;
  readonly graph: () => DotGraph;
}

export const diagrams: readonly DiagramSource[] = [
  { name: 'aws-architecture', graph: awsDiagram },
  { name: 'local-environment', graph: localDiagram },
  { name: 'request-path', graph: requestPathDiagram },
  { name: 'delivery-pipeline', graph: pipelineDiagram },
];
