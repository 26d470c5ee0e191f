// Lays out the local environment model (local.model.ts) as two slide-sized pictures: the request path by network,
// and operations (metrics, logs, backups, volumes). Every compose service is in at least one of them (tested).
import type { DotEdge, DotGraph, DotGroup, DotNode } from './dot.js';
import { type LocalService, localFlows, localNetworks, localServices } from './local.model.js';

/** Services of the request path; the rest are drawn in the operations picture. */
export const REQUEST_PATH_SERVICES = ['edge', 'web-lb', 'api-lb', 'web', 'api', 'migrate', 'db'] as const;
/** Services of the operations picture (db again: it is what they watch and back up). */
export const OPERATIONS_SERVICES = ['db', 'backup', 'postgres-exporter', 'prometheus', 'logs', 'log-shipper'] as const;

const byName = new Map(localServices.map((s) => [s.name, s]));

function serviceBox(name: string, withNetworks: boolean): DotNode {
  const s = byName.get(name);
  if (!s) throw new Error(`local.model.ts has no service ${name}`);
  return {
    id: s.name,
    title: s.replicas ? `${s.title} x${s.replicas}` : s.title,
    details: [
      ...s.details,
      ...(withNetworks && s.networks.length > 1 ? [`networks: ${s.networks.join(', ')}`] : []),
      ...(s.published ? [`host ${s.published.join(', ')}`] : []),
    ],
    role: s.role,
    ...(s.name === 'db' ? { shape: 'cylinder' as const } : {}),
  };
}

const flowsBetween = (ids: ReadonlySet<string>): DotEdge[] =>
  localFlows
    .filter((f) => ids.has(f.from) && ids.has(f.to))
    .map((f) => ({ from: f.from, to: f.to, kind: f.kind, ...(f.label ? { label: f.label } : {}) }));

const inHome = (names: readonly string[], home: LocalService['home']) =>
  names.filter((n) => byName.get(n)?.home === home);

export function localDiagram(): DotGraph {
  const names: readonly string[] = REQUEST_PATH_SERVICES;
  const nodes: DotNode[] = [
    { id: 'client', title: 'client', details: ['browser, curl, tier CLI'], role: 'client' },
    ...names.map((n) => serviceBox(n, true)),
  ];
  const ids = new Set(['client', ...names]);
  const groups: DotGroup[] = [
    { id: 'host', label: 'host loopback', style: 'external', nodes: ['client'] },
    {
      id: 'engine',
      label: 'compose project (infra/local/compose.yaml)',
      style: 'cloud',
      groups: (['public', 'app', 'data'] as const).map((net) => ({
        id: `net-${net}`,
        label: `network ${localNetworks[net].split(':')[0]}`,
        style: net === 'public' ? 'public' : net === 'app' ? 'private' : 'isolated',
        nodes: inHome(names, net),
      })),
    },
  ];
  return {
    title: 'Local environment: Varnish -> HAProxy per tier -> replicas -> PostgreSQL 17',
    direction: 'LR',
    nodes,
    // Columns: client, balancers, replicas; the data network goes under the replicas (to fit a slide), so the
    // arrows into it and web's call back to api-lb do not rank the boxes.
    edges: [
      ...flowsBetween(ids).map((e) =>
        (e.from === 'web' && e.to === 'api-lb') || e.to === 'db' ? { ...e, constraint: false } : e,
      ),
      { from: 'api-lb', to: 'db', kind: 'control', invisible: true },
      { from: 'api-lb', to: 'migrate', kind: 'control', invisible: true },
    ],
    groups,
    legend: { roles: [], flows: ['traffic', 'control'] },
    extra: 'ranksep=0.4;',
  };
}

export function localOperationsDiagram(): DotGraph {
  const names: readonly string[] = OPERATIONS_SERVICES;
  const targets = new Set(['web', 'api', 'web-lb']);
  const box = (id: string) => (targets.has(id) ? 'targets' : id);
  const nodes: DotNode[] = [
    ...names.map((n) => serviceBox(n, false)),
    { id: 'targets', title: 'web, api replicas', details: ['and web-lb'], role: 'web' },
    { id: 'vol-backups', title: 'volume backups', role: 'network', shape: 'cylinder' },
    { id: 'vol-logs', title: 'volume logs', role: 'network', shape: 'cylinder' },
  ];
  // Metrics, logs and backups only; the flows to and from the replicas and web-lb meet in one box.
  const merged = new Map<string, DotEdge>();
  for (const f of localFlows.filter((x) => x.kind !== 'traffic' && x.kind !== 'control')) {
    const from = box(f.from);
    const to = box(f.to);
    if (![from, to].every((id) => nodes.some((n) => n.id === id))) continue;
    const key = `${from}->${to}`;
    const before = merged.get(key);
    const labels = [...new Set([before?.label, f.label])].filter((l): l is string => !!l);
    merged.set(key, { from, to, kind: f.kind, ...(labels.length > 0 ? { label: labels.join(', ') } : {}) });
  }
  merged.set('logs->vol-logs', { from: 'logs', to: 'vol-logs', kind: 'logs', label: 'writes' });
  return {
    title: 'Local operations: metrics, central logs, backups (volumes kept by `tier down`)',
    direction: 'TB',
    nodes,
    edges: [...merged.values()],
    groups: [
      { id: 'ops', label: 'operations (network app)', style: 'private', nodes: ['prometheus', 'logs', 'log-shipper'] },
      { id: 'data', label: 'data', style: 'isolated', nodes: ['db', 'postgres-exporter', 'backup'] },
      { id: 'volumes', label: 'named volumes', style: 'plain', nodes: ['vol-backups', 'vol-logs'] },
    ],
    legend: { roles: [], flows: ['metrics', 'logs', 'backup'] },
    extra: 'ranksep=0.3;',
  };
}
