// The local environment as data (containers, networks, volumes, published ports), drawn by local.diagram.ts and
// held against infra/local/compose.yaml by docs/test/local-consistency.test.ts.
import type { Role } from './dot.js';

export type LocalNetwork = 'public' | 'app' | 'data';

export interface LocalService {
  /** The compose service name. */
  readonly name: string;
  readonly title: string;
  readonly details: readonly string[];
  readonly role: Role;
  readonly networks: readonly LocalNetwork[];
  /** The group the box is drawn in (a box can join several networks; its details list them all). */
  readonly home: LocalNetwork | 'ops' | 'none';
  readonly volumes?: readonly string[];
  /** Published on the host's loopback, e.g. `8080`. */
  readonly published?: readonly string[];
  readonly replicas?: number;
}

export interface LocalFlow {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
  readonly kind: 'traffic' | 'logs' | 'metrics' | 'backup' | 'control';
}

export const localNetworks: Readonly<Record<LocalNetwork, string>> = {
  public: 'public: edge and balancers (the "internet" side)',
  app: 'app: balancers, replicas, monitoring, logs',
  data: 'data (internal, no egress): db, api, migrate, exporter',
};

export const localServices: readonly LocalService[] = [
  {
    name: 'edge',
    home: 'public',
    title: 'edge (Varnish)',
    details: ['CDN stand-in', 'caches immutable assets', 'follows balancer addresses'],
    role: 'edge',
    networks: ['public'],
    published: ['127.0.0.1:8080'],
  },
  {
    name: 'web-lb',
    home: 'public',
    title: 'web-lb (HAProxy)',
    details: ['replicas by DNS', 'checks /readyz, retries'],
    role: 'web',
    networks: ['public', 'app'],
  },
  {
    name: 'api-lb',
    home: 'public',
    title: 'api-lb (HAProxy)',
    details: ['"backend endpoint"', 'replicas by DNS, /readyz'],
    role: 'api',
    networks: ['public', 'app'],
    published: ['127.0.0.1:8081'],
  },
  {
    name: 'web',
    home: 'app',
    title: 'web replicas',
    details: [':3000 app, :9100 admin', 'read-only, no capabilities'],
    role: 'web',
    networks: ['app'],
    replicas: 2,
  },
  {
    name: 'api',
    home: 'app',
    title: 'api replicas',
    details: [':3000 app, :9100 admin', 'one pg pool each'],
    role: 'api',
    networks: ['app', 'data'],
    replicas: 2,
  },
  {
    name: 'migrate',
    home: 'data',
    title: 'migrate (one-off)',
    details: ['api image, runs once', 'before api starts'],
    role: 'api',
    networks: ['data'],
  },
  {
    name: 'db',
    home: 'data',
    title: 'db (PostgreSQL 17 + pgBackRest)',
    details: ['no published port', 'WAL archived'],
    role: 'data',
    networks: ['data'],
    volumes: ['db-data', 'db-socket', 'backups'],
  },
  {
    name: 'backup',
    home: 'none',
    title: 'backup (scheduler)',
    details: ['daily pgBackRest backup', 'no network: unix socket'],
    role: 'data',
    networks: [],
    volumes: ['db-data', 'db-socket', 'backups'],
  },
  {
    name: 'postgres-exporter',
    home: 'data',
    title: 'postgres-exporter',
    details: ['db metrics for Prometheus'],
    role: 'ops',
    networks: ['data', 'app'],
  },
  {
    name: 'prometheus',
    home: 'ops',
    title: 'prometheus',
    details: ['scrapes by DNS', 'kept 15 days'],
    role: 'ops',
    networks: ['app'],
    volumes: ['prometheus'],
    published: ['127.0.0.1:9090'],
  },
  {
    name: 'logs',
    home: 'ops',
    title: 'logs (rsyslog central store)',
    details: ['one JSON object per line', 'tier + container'],
    role: 'ops',
    networks: ['app'],
    volumes: ['logs', 'logs-state'],
  },
  {
    name: 'log-shipper',
    home: 'ops',
    title: 'log-shipper (rsyslog)',
    details: ['follows container logs', 'joins split lines; TCP, disk queue'],
    role: 'ops',
    networks: ['app'],
    volumes: ['shipper-state'],
  },
];

export const localVolumes: readonly string[] = [
  'db-data',
  'db-socket',
  'backups',
  'logs',
  'logs-state',
  'shipper-state',
  'prometheus',
];

export const localFlows: readonly LocalFlow[] = [
  { from: 'client', to: 'edge', label: 'HTTP :8080', kind: 'traffic' },
  { from: 'client', to: 'api-lb', label: ':8081', kind: 'traffic' },
  { from: 'edge', to: 'web-lb', label: '/*', kind: 'traffic' },
  { from: 'edge', to: 'api-lb', label: '/api/*', kind: 'traffic' },
  { from: 'web-lb', to: 'web', label: ':3000', kind: 'traffic' },
  { from: 'web', to: 'api-lb', label: 'API_HOST', kind: 'traffic' },
  { from: 'api-lb', to: 'api', label: ':3000', kind: 'traffic' },
  { from: 'api', to: 'db', label: ':5432', kind: 'traffic' },
  { from: 'migrate', to: 'db', label: 'migrations', kind: 'control' },
  { from: 'postgres-exporter', to: 'db', kind: 'metrics' },
  { from: 'prometheus', to: 'web', label: 'scrape :9100', kind: 'metrics' },
  { from: 'prometheus', to: 'api', label: 'scrape :9100', kind: 'metrics' },
  { from: 'prometheus', to: 'web-lb', label: 'HAProxy metrics', kind: 'metrics' },
  { from: 'prometheus', to: 'postgres-exporter', kind: 'metrics' },
  { from: 'log-shipper', to: 'logs', label: 'TCP syslog', kind: 'logs' },
  { from: 'web-lb', to: 'logs', label: 'JSON access log', kind: 'logs' },
  { from: 'backup', to: 'vol-backups', label: 'daily', kind: 'backup' },
  { from: 'db', to: 'vol-backups', label: 'WAL archive', kind: 'backup' },
];
