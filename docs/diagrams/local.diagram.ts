// Lays out the local environment model (local.model.ts): containers grouped by network, volumes as cylinders.
import type { DotEdge, DotGraph, DotGroup, DotNode } from './dot.js';
import { type LocalService, localFlows, localNetworks, localServices, localVolumes } from './local.model.js';

export function localDiagram(): DotGraph {
  const nodes: DotNode[] = [
    { id: 'client', title: 'client (browser, curl, tier CLI)', details: ['host loopback only'], role: 'client' },
    ...localServices.map((s) => ({
      id: s.name,
      title: s.replicas ? `${s.title} x${s.replicas}` : s.title,
      details: [
        ...s.details,
        `networks: ${s.networks.length > 0 ? s.networks.join(', ') : 'none'}`,
        ...(s.published ? [`published ${s.published.join(', ')}`] : []),
      ],
      role: s.role,
      ...(s.name === 'db' ? { shape: 'cylinder' as const } : {}),
    })),
    ...localVolumes.map((v) => ({
      id: `vol-${v}`,
      title: `volume ${v}`,
      role: 'network' as const,
      shape: 'cylinder' as const,
    })),
  ];
  const edges: DotEdge[] = [
    ...localFlows.map((f) => ({ from: f.from, to: f.to, kind: f.kind, ...(f.label ? { label: f.label } : {}) })),
    ...localServices.flatMap((s) =>
      (s.volumes ?? [])
        .filter((v) => !((s.name === 'db' || s.name === 'backup') && v === 'backups'))
        .map((v): DotEdge => ({ from: s.name, to: `vol-${v}`, kind: 'control', label: 'mount' })),
    ),
  ];
  const byHome = (home: LocalService['home']) => localServices.filter((s) => s.home === home).map((s) => s.name);
  const groups: DotGroup[] = [
    { id: 'host', label: 'Host loopback (127.0.0.1)', style: 'external', nodes: ['client'] },
    {
      id: 'engine',
      label: 'podman / docker compose project (infra/local/compose.yaml)',
      style: 'cloud',
      groups: [
        { id: 'net-public', label: `network ${localNetworks.public}`, style: 'public', nodes: byHome('public') },
        { id: 'net-app', label: `network ${localNetworks.app}`, style: 'private', nodes: byHome('app') },
        { id: 'net-data', label: `network ${localNetworks.data}`, style: 'isolated', nodes: byHome('data') },
        { id: 'no-net', label: 'no network (unix socket only)', style: 'plain', nodes: byHome('none') },
        {
          id: 'volumes',
          label: 'named volumes (kept by `tier down`)',
          style: 'plain',
          nodes: localVolumes.map((v) => `vol-${v}`),
        },
        {
          id: 'ops',
          label: 'operations: metrics and central logs (network app)',
          style: 'plain',
          nodes: byHome('ops'),
        },
      ],
    },
  ];
  return {
    title: 'Local environment: edge (Varnish) -> HAProxy per tier -> replicas -> PostgreSQL 17',
    direction: 'TB',
    nodes,
    edges,
    groups,
    legend: {
      roles: ['edge', 'web', 'api', 'data', 'ops', 'network'],
      flows: ['traffic', 'logs', 'metrics', 'backup', 'control'],
    },
  };
}
