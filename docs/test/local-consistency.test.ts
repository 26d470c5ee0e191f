// The local diagram's model (docs/diagrams/local.model.ts) against infra/local/compose.yaml: services, their networks,
// named volumes, replicas and published ports must agree both ways.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { localNetworks, localServices, localVolumes } from '../diagrams/local.model.js';
import { REPO_DIR } from '../tools/paths.js';

const COMPOSE = join(REPO_DIR, 'infra', 'local', 'compose.yaml');

interface ComposeService {
  networks?: string[] | Record<string, unknown>;
  network_mode?: string;
  volumes?: (string | { source?: string; type?: string })[];
  ports?: (string | { published?: string | number; host_ip?: string })[];
  deploy?: { replicas?: number };
}

function compose(): {
  services: Record<string, ComposeService>;
  networks: Record<string, unknown>;
  volumes: Record<string, unknown>;
} {
  // merge: compose files use YAML merge keys (<<: *anchor) for shared service settings.
  const doc = parse(readFileSync(COMPOSE, 'utf8'), { merge: true }) as ReturnType<typeof compose>;
  return { services: doc.services ?? {}, networks: doc.networks ?? {}, volumes: doc.volumes ?? {} };
}

const networksOf = (s: ComposeService) =>
  (Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {})).sort();
const namedVolumesOf = (s: ComposeService, named: Set<string>) =>
  [
    ...new Set(
      (s.volumes ?? [])
        .map((v) => (typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '')))
        .filter((v) => named.has(v)),
    ),
  ].sort();
/** `127.0.0.1:${EDGE_PORT:-8080}:8080` -> `127.0.0.1:8080` (the default the picture shows). */
const publishedOf = (s: ComposeService) =>
  (s.ports ?? [])
    .map((p) => (typeof p === 'string' ? p : `${p.host_ip ?? ''}:${p.published ?? ''}:`))
    .map((p) => p.replace(/\$\{[A-Z_]+:-([^}]+)\}/g, '$1'))
    .map((p) => p.split(':').slice(0, -1).join(':'))
    .sort();

describe('local diagram vs infra/local/compose.yaml', () => {
  test('the same services', () => {
    assert.deepEqual(localServices.map((s) => s.name).sort(), Object.keys(compose().services).sort());
  });

  test('the same networks, and the data network is internal', () => {
    const c = compose();
    assert.deepEqual(Object.keys(localNetworks).sort(), Object.keys(c.networks).sort());
    assert.equal(
      (c.networks.data as { internal?: boolean } | null)?.internal,
      true,
      'the data network must be internal',
    );
  });

  test('every service joins the networks the picture shows', () => {
    const c = compose();
    for (const s of localServices) {
      const cs = c.services[s.name]!;
      const actual = cs.network_mode === 'none' ? [] : networksOf(cs);
      assert.deepEqual([...s.networks].sort(), actual, `${s.name}: networks`);
    }
  });

  test('the same named volumes, mounted by the same services', () => {
    const c = compose();
    const named = new Set(Object.keys(c.volumes));
    assert.deepEqual([...localVolumes].sort(), [...named].sort());
    for (const s of localServices) {
      assert.deepEqual([...(s.volumes ?? [])].sort(), namedVolumesOf(c.services[s.name]!, named), `${s.name}: volumes`);
    }
  });

  test('published ports and replica counts are the ones drawn, and the db publishes nothing', () => {
    const c = compose();
    for (const s of localServices) {
      const cs = c.services[s.name]!;
      assert.deepEqual([...(s.published ?? [])].sort(), publishedOf(cs), `${s.name}: published ports`);
      if (s.replicas) assert.equal(cs.deploy?.replicas, s.replicas, `${s.name}: replicas`);
    }
    assert.deepEqual(publishedOf(c.services.db!), []);
  });
});
