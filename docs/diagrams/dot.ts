// A small Graphviz DOT writer with the one visual language every diagram shares (colours per tier, fonts, edge kinds).

/** What a box belongs to; decides its colours in every diagram. */
export type Role = 'client' | 'edge' | 'web' | 'api' | 'data' | 'ops' | 'security' | 'pipeline' | 'network';

/** What an arrow carries; decides its line style. */
export type FlowKind = 'traffic' | 'sg' | 'logs' | 'metrics' | 'backup' | 'deploy' | 'control';

/** Fill and border per role: light fills so black labels stay legible on screen and on paper. */
export const ROLE_COLORS: Readonly<Record<Role, { fill: string; border: string }>> = {
  client: { fill: '#FFFFFF', border: '#333333' },
  edge: { fill: '#EDE3F7', border: '#6B3FA0' },
  web: { fill: '#DCEBFA', border: '#1F5FA8' },
  api: { fill: '#DDF2DF', border: '#2E7D32' },
  data: { fill: '#FDE6D4', border: '#C25400' },
  ops: { fill: '#ECEFF1', border: '#455A64' },
  security: { fill: '#FFF6CC', border: '#9A7B00' },
  pipeline: { fill: '#F3E5EC', border: '#8E2458' },
  network: { fill: '#F5F5F5', border: '#757575' },
};

export const FLOW_STYLES: Readonly<Record<FlowKind, string>> = {
  traffic: 'color="#222222", penwidth=1.6',
  sg: 'color="#C62828", style=dashed, fontcolor="#C62828", penwidth=1.2',
  logs: 'color="#607D8B", style=dotted, fontcolor="#455A64"',
  metrics: 'color="#00838F", style=dotted, fontcolor="#00838F"',
  backup: 'color="#C25400", style=dashed, fontcolor="#C25400"',
  deploy: 'color="#8E2458", penwidth=1.4, fontcolor="#8E2458"',
  control: 'color="#9E9E9E", style=dashed, fontcolor="#616161"',
};

/** Background of a group (subnet tier, network, region); borders stay visible on white. */
export const GROUP_COLORS = {
  cloud: { fill: '#FAFAFA', border: '#232F3E' },
  region: { fill: '#FFFFFF', border: '#147EBA' },
  vpc: { fill: '#F7FBF7', border: '#248814' },
  public: { fill: '#EAF6E6', border: '#7AA116' },
  private: { fill: '#E6F2FB', border: '#147EBA' },
  isolated: { fill: '#FBECEC', border: '#B0413E' },
  global: { fill: '#F6F0FB', border: '#6B3FA0' },
  external: { fill: '#FFFFFF', border: '#9E9E9E' },
  plain: { fill: '#FFFFFF', border: '#BDBDBD' },
} as const;
export type GroupStyle = keyof typeof GROUP_COLORS;

export interface DotNode {
  readonly id: string;
  readonly title: string;
  /** Smaller lines under the title (resource type, port, count). */
  readonly details?: readonly string[];
  readonly role: Role;
  readonly shape?: 'box' | 'cylinder' | 'folder' | 'note' | 'component' | 'ellipse';
  /** A table under the title (first row: column heads), e.g. subnets per availability zone. */
  readonly grid?: readonly (readonly string[])[];
}

export interface DotEdge {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
  readonly kind: FlowKind;
  /** Leave the edge out of the layout's ranking (for back-links such as logs). */
  readonly constraint?: boolean;
  /** Layout-only edge: keeps boxes in order, never drawn. */
  readonly invisible?: boolean;
}

export interface DotGroup {
  readonly id: string;
  readonly label: string;
  readonly style: GroupStyle;
  readonly nodes?: readonly string[];
  readonly groups?: readonly DotGroup[];
}

export interface DotGraph {
  readonly title: string;
  readonly direction: 'LR' | 'TB';
  readonly nodes: readonly DotNode[];
  readonly edges: readonly DotEdge[];
  readonly groups?: readonly DotGroup[];
  /** Legend shown under the title: which colour and line means what. */
  readonly legend?: {
    readonly roles: readonly Role[];
    readonly flows: readonly FlowKind[];
    /** Words for the boxes' colours. @default the tier names */
    readonly roleNames?: Partial<Record<Role, string>>;
  };
  /** Extra graph attributes (e.g. ranksep) as raw DOT. */
  readonly extra?: string;
}

const FONT = 'DejaVu Sans';

/**
 * Font sizes (points). Pictures are drawn at about slide size (1,280 x 720 pt), so a point is close to a slide
 * pixel; docs/test/legibility.test.ts holds every text at 14 px or more as the slide shows it.
 */
export const FONT_SIZES = { title: 22, group: 16, node: 17, detail: 15, edge: 15, legend: 15 } as const;

/** Escapes text for a Graphviz HTML-like label. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const quote = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

function gridTable(grid: readonly (readonly string[])[]): string {
  const rows = grid.map(
    (row, r) =>
      `<TR>${row
        .map((cell, c) => {
          const text = escapeHtml(cell);
          const bold = r === 0 || c === 0 ? `<B>${text}</B>` : text;
          return `<TD ALIGN="LEFT" BORDER="1" COLOR="#BDBDBD" BGCOLOR="${r === 0 ? '#EEEEEE' : '#FFFFFF'}">${bold}</TD>`;
        })
        .join('')}</TR>`,
  );
  return `<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="5">${rows.join('')}</TABLE>`;
}

function nodeLabel(node: DotNode): string {
  const lines = [`<B>${escapeHtml(node.title)}</B>`];
  for (const d of node.details ?? [])
    lines.push(`<FONT POINT-SIZE="${FONT_SIZES.detail}" COLOR="#333333">${escapeHtml(d)}</FONT>`);
  if (node.grid) {
    return `<<TABLE BORDER="0" CELLSPACING="4"><TR><TD>${lines.join('<BR/>')}</TD></TR><TR><TD><FONT POINT-SIZE="${FONT_SIZES.detail}">${gridTable(node.grid)}</FONT></TD></TR></TABLE>>`;
  }
  return `<${lines.join('<BR/>')}>`;
}

function renderNode(node: DotNode): string {
  const c = ROLE_COLORS[node.role];
  const shape = node.shape ?? 'box';
  const style = shape === 'box' ? 'rounded,filled' : 'filled';
  return `  ${quote(node.id)} [label=${nodeLabel(node)}, shape=${shape}, style="${style}", fillcolor="${c.fill}", color="${c.border}", penwidth=1.4];`;
}

function renderGroup(group: DotGroup, indent: string): string[] {
  const c = GROUP_COLORS[group.style];
  const out = [
    `${indent}subgraph ${quote(`cluster_${group.id}`)} {`,
    `${indent}  label=<<B>${escapeHtml(group.label)}</B>>; labeljust=l; fontsize=${FONT_SIZES.group};`,
    `${indent}  style="rounded,filled"; fillcolor="${c.fill}"; color="${c.border}"; penwidth=1.6;`,
  ];
  for (const id of group.nodes ?? []) out.push(`${indent}  ${quote(id)};`);
  for (const g of group.groups ?? []) out.push(...renderGroup(g, `${indent}  `));
  out.push(`${indent}}`);
  return out;
}

const FLOW_NAMES: Record<FlowKind, string> = {
  traffic: 'request traffic',
  sg: 'security-group rule (port)',
  logs: 'logs',
  metrics: 'metrics',
  backup: 'backups',
  deploy: 'delivery',
  control: 'control / config',
};

const ROLE_NAMES: Record<Role, string> = {
  client: 'client',
  edge: 'edge (CDN, WAF)',
  web: 'web tier',
  api: 'api tier',
  data: 'database and backups',
  ops: 'logs and metrics',
  security: 'keys and secrets',
  pipeline: 'delivery pipeline',
  network: 'network',
};

/** Legend words for a picture whose colours mean something else than tiers (the pipeline's jobs). */
export const PIPELINE_ROLE_NAMES: Partial<Record<Role, string>> = {
  ops: 'checks (no AWS)',
  pipeline: 'environment: staging',
  security: 'environment: production (approval)',
};

const FLOW_SAMPLES: Record<FlowKind, { color: string; line: string }> = {
  traffic: { color: '#222222', line: 'solid' },
  sg: { color: '#C62828', line: 'dashed' },
  logs: { color: '#607D8B', line: 'dotted' },
  metrics: { color: '#00838F', line: 'dotted' },
  backup: { color: '#C25400', line: 'dashed' },
  deploy: { color: '#8E2458', line: 'solid' },
  control: { color: '#9E9E9E', line: 'dashed' },
};

/** The graph label: the title, then one compact legend table (colour swatches for boxes, coloured words for arrows). */
function graphLabel(graph: DotGraph): string {
  const title = `<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="${FONT_SIZES.title}"><B>${escapeHtml(graph.title)}</B></FONT></TD></TR>`;
  if (!graph.legend) return `<<TABLE BORDER="0">${title}</TABLE>>`;
  const boxes = graph.legend.roles.map((role) => {
    const c = ROLE_COLORS[role];
    const name = graph.legend?.roleNames?.[role] ?? ROLE_NAMES[role];
    return `<TD BGCOLOR="${c.fill}" COLOR="${c.border}" BORDER="1">${escapeHtml(name)}</TD>`;
  });
  const arrows = graph.legend.flows.map((f) => {
    const s = FLOW_SAMPLES[f];
    return `<TD><FONT COLOR="${s.color}"><B>${s.line} -&gt;</B> ${escapeHtml(FLOW_NAMES[f])}</FONT></TD>`;
  });
  const table = (cells: string[], head: string) =>
    `<TABLE BORDER="0" CELLSPACING="4" CELLPADDING="2"><TR><TD><B>${head}</B></TD>${cells.join('')}</TR></TABLE>`;
  const rows = [title];
  if (boxes.length > 0) rows.push(`<TR><TD ALIGN="LEFT">${table(boxes, 'Boxes:')}</TD></TR>`);
  if (arrows.length > 0) rows.push(`<TR><TD ALIGN="LEFT">${table(arrows, 'Arrows:')}</TD></TR>`);
  return `<<FONT POINT-SIZE="${FONT_SIZES.legend}"><TABLE BORDER="0" CELLSPACING="1">${rows.join('')}</TABLE></FONT>>`;
}

/** Renders one graph as DOT text; deterministic, so the committed .dot files show diffs. */
export function toDot(graph: DotGraph): string {
  const out = [
    `digraph ${quote(graph.title)} {`,
    `  graph [rankdir=${graph.direction}, fontname="${FONT}", fontsize=${FONT_SIZES.legend}, labelloc=t, labeljust=l, label=${graphLabel(graph)}, pad=0.2, nodesep=0.3, ranksep=0.5, newrank=true, compound=true, bgcolor="white"];`,
    `  node [fontname="${FONT}", fontsize=${FONT_SIZES.node}, margin="0.12,0.05"];`,
    `  edge [fontname="${FONT}", fontsize=${FONT_SIZES.edge}, arrowsize=0.8];`,
  ];
  if (graph.extra) out.push(`  ${graph.extra}`);
  for (const node of graph.nodes) out.push(renderNode(node));
  for (const group of graph.groups ?? []) out.push(...renderGroup(group, '  '));
  for (const edge of graph.edges) {
    const attrs = [edge.invisible ? 'style=invis' : FLOW_STYLES[edge.kind]];
    if (edge.label) attrs.push(`label=${quote(edge.label)}`);
    if (edge.constraint === false) attrs.push('constraint=false');
    out.push(`  ${quote(edge.from)} -> ${quote(edge.to)} [${attrs.join(', ')}];`);
  }

  out.push('}');
  return `${out.join('\n')}\n`;
}

/** Checks that every edge and group names a declared node, so a typo in a model fails loudly. */
export function assertWellFormed(graph: DotGraph): void {
  const ids = new Set(graph.nodes.map((n) => n.id));
  for (const e of graph.edges) {
    for (const end of [e.from, e.to]) {
      if (!ids.has(end))
        throw new Error(`diagram "${graph.title}": edge ${e.from} -> ${e.to} names unknown node "${end}"`);
    }
  }
  const visit = (g: DotGroup) => {
    for (const id of g.nodes ?? []) {
      if (!ids.has(id)) throw new Error(`diagram "${graph.title}": group ${g.id} names unknown node "${id}"`);
    }
    for (const child of g.groups ?? []) visit(child);
  };
  for (const g of graph.groups ?? []) visit(g);
}
