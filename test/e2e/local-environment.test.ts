// The local environment end to end: brought up by the local backend (`tier up`), probed
// from the host and from a throwaway client container on the public network (the "internet").
// zz-teardown.test.ts removes everything, volumes included, after the last e2e file.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { PROJECT, TIERS } from '@tier/cli';
import { type AfterUp, eventually, type LocalEnv, localEnv, quietProgress, tcpProbe } from './support/local-env.js';

let env: LocalEnv;

const byService = async (service: string) => (await env.containers()).filter((c) => c.service === service && c.running);
const first = async (service: string) => {
  const [c] = await byService(service);
  assert.ok(c, `a running ${service} container`);
  return c;
};

before(async () => {
  env = await localEnv();
});

describe('tier up means served', () => {
  it('serves the first requests made the moment it returns, with every replica already scraped', async (t) => {
    const { afterUp } = env;
    if (!afterUp) return t.skip('TIER_E2E_SKIP_UP=1: tier up did not run in this process');
    assert.deepEqual(afterUp.responses, { '/': 200, '/api/status': 200 });
    const replicas = (await env.containers()).filter(
      (c) => c.running && (TIERS as readonly string[]).includes(c.service),
    );
    assert.ok(replicas.length >= 2, 'web and api replicas run');
    for (const c of replicas) {
      const target: AfterUp['targets'][number] | undefined = afterUp.targets.find(
        (x) => new URL(x.scrapeUrl).hostname === c.addresses.app,
      );
      assert.equal(target?.health, 'up', `${c.name} was scraped when tier up returned`);
    }
    assert.deepEqual(
      afterUp.targets.filter((x) => x.health !== 'up').map((x) => x.scrapeUrl),
      [],
      'every Prometheus target was up when tier up returned',
    );
  });
});

describe('requests through the edge', () => {
  it('serves the page with the time read from the database, from the host', async () => {
    const res = await fetch(`${env.edge}/`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<title>[^<]*3tier App<\/title>/);
    const text = html.replace(/<[^>]+>/g, '');
    const shown = text.match(/Welcome, it(?:'|&#39;|&#x27;)s (\S+)/)?.[1];
    assert.ok(shown, 'the page says "Welcome, it\'s <time>"');
    assert.ok(Math.abs(Date.parse(shown) - Date.now()) < 120_000, `the time is current (got ${shown})`);
  });

  it('serves /api/status from the API and the database, from the internet client', async () => {
    const out = await env.client(
      `fetch('http://edge:8080/api/status').then(async r => console.log(r.status, await r.text()))`,
    );
    const [status, ...body] = out.trim().split(' ');
    assert.equal(status, '200');
    const parsed = JSON.parse(body.join(' ')) as Array<{ time: string; request_uuid: string }>;
    assert.equal(parsed.length, 1);
    assert.ok(Number.isFinite(Date.parse(parsed[0]?.time ?? '')));
    assert.match(parsed[0]?.request_uuid ?? '', /^[0-9a-f-]{36}$/);
  });

  it('serves the page to the internet client too', async () => {
    const out = await env.client(
      `fetch('http://edge:8080/').then(async r => console.log(r.status, (await r.text()).includes('Welcome')))`,
    );
    assert.equal(out.trim(), '200 true');
  });
});

describe('network isolation', () => {
  it('publishes no database port', async () => {
    const db = await first('db');
    const ports = JSON.parse(
      await env.cli(['inspect', '--format', '{{json .NetworkSettings.Ports}}', db.name]),
    ) as Record<string, unknown> | null;
    const published = Object.values(ports ?? {}).filter((v) => Array.isArray(v) && v.length > 0);
    assert.deepEqual(published, [], 'no host port maps to the db');
    const portOut = await env.cli(['port', db.name]).catch(() => '');
    assert.equal(portOut.trim(), '');
  });

  it('keeps the database unreachable from the internet client, by name and by address', async () => {
    const db = await first('db');
    const ip = db.addresses.data;
    assert.ok(ip, 'the db has an address on the data network');
    assert.match(await env.client(tcpProbe('db', 5432)), /^closed/);
    assert.match(await env.client(tcpProbe(ip, 5432)), /^closed/);
  });

  it('keeps the database unreachable from a web container, reachable from an api container', async () => {
    const db = await first('db');
    const web = await first('web');
    const api = await first('api');
    assert.match(await env.inside(web.name, tcpProbe('db', 5432)), /^closed/);
    assert.match(await env.inside(web.name, tcpProbe(db.addresses.data ?? '', 5432)), /^closed/);
    assert.equal((await env.inside(api.name, tcpProbe('db', 5432))).trim(), 'open');
  });
});

describe('edge cache', () => {
  it('caches a fingerprinted static asset (MISS then HIT) and never HTML or API answers', async () => {
    const html = await (await fetch(`${env.edge}/`)).text();
    const asset = html.match(/href="(\/stylesheets\/[^"]+\.[0-9a-f]{8,}\.css)"/)?.[1];
    assert.ok(asset, 'the page links a fingerprinted stylesheet');
    // A fresh query string makes a fresh cache object, whatever earlier tests fetched.
    const url = `${env.edge}${asset}?e2e=${randomUUID()}`;
    const firstRes = await fetch(url);
    await firstRes.arrayBuffer();
    assert.equal(firstRes.headers.get('x-cache'), 'MISS');
    const second = await fetch(url);
    await second.arrayBuffer();
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-cache'), 'HIT');

    for (const path of ['/', '/api/status']) {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${env.edge}${path}`);
        await res.arrayBuffer();
        assert.equal(res.headers.get('x-cache'), 'PASS', `${path} is passed, not cached`);
      }
    }
  });

  it('passes API requests on at once: concurrent requests for one URL never wait for one fetch', async () => {
    // Coalescing made every concurrent request for an API URL wait for the first one's fetch, and
    // answered them all that fetch's 503 when it failed. API answers are never stored (on AWS
    // /api/* has caching disabled), so nothing may wait: Varnish counts a request put to sleep on
    // another's fetch in busy_sleep, and logs the handling of each.
    const edge = await first('edge');
    const sleeps = async () =>
      Number(
        (await env.cli(['exec', edge.name, 'varnishstat', '-n', '/tmp/varnish', '-1', '-f', 'MAIN.busy_sleep']))
          .trim()
          .split(/\s+/)[1],
      );
    const before = await sleeps();
    const url = `${env.edge}/api/status?e2e=${randomUUID()}`;
    const id = `e2e-pass-${randomUUID()}`;
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        fetch(url, { headers: { 'x-request-id': `${id}-${i}` } }).then(async (r) => ({
          status: r.status,
          cache: r.headers.get('x-cache'),
          body: await r.text(),
        })),
      ),
    );
    assert.deepEqual(
      answers.map((a) => [a.status, a.cache]),
      answers.map(() => [200, 'PASS']),
    );
    assert.equal(new Set(answers.map((a) => a.body)).size, answers.length, 'each request was answered by the API');
    assert.equal((await sleeps()) - before, 0, "no request waited for another request's fetch");
    const handled = await eventually(
      'the edge lines of all 24 requests',
      async () => {
        const lines = (await storeLines(id)).filter((l) => l.tier === 'edge');
        return lines.length >= answers.length ? lines : undefined;
      },
      10_000,
    );
    assert.deepEqual([...new Set(handled.map((l) => (JSON.parse(l.msg) as { cache?: string }).cache))], ['pass']);
  });
});

interface StoredLine {
  tier: string;
  container: string;
  container_id: string;
  msg: string;
}

const storeLines = async (needle: string): Promise<StoredLine[]> => {
  const logs = await first('logs');
  const out = await env.cli([
    'exec',
    logs.name,
    'sh',
    '-c',
    `cat /var/log/central/*.jsonl | grep -F -- '${needle}' || true`,
  ]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StoredLine);
};

describe('central logs', () => {
  const requestId = `e2e-${randomUUID()}`;

  it('finds one request id in the log store for the edge, both balancers, web and api within 10 s', async () => {
    const res = await fetch(`${env.edge}/`, { headers: { 'x-request-id': requestId } });
    await res.arrayBuffer();
    assert.equal(res.headers.get('x-request-id'), requestId);
    const wanted = ['edge', 'web-lb', 'web', 'api-lb', 'api'];
    const tiers = await eventually(
      'log lines of every tier',
      async () => {
        const seen = new Set((await storeLines(requestId)).map((l) => l.tier));
        return wanted.every((t) => seen.has(t)) ? seen : undefined;
      },
      10_000,
    );
    for (const t of wanted) assert.ok(tiers.has(t), `${t} logged ${requestId}`);
  });

  it('stores a line longer than the engine reads at once, and a burst of lines, each whole', async () => {
    // The engine cuts a line at its read buffer (8 KiB for podman) into partial records; the
    // shipper joins them. Before it did, a burst left about one line in 40 split in two.
    const needle = `e2e-long-${randomUUID()}`;
    const image = (await env.cli(['inspect', '--format', '{{.Config.Image}}', (await first('api')).name])).trim();
    const script = `const line = (pad) => JSON.stringify({ msg: '${needle}', pad }) + '\\n';
      process.stdout.write(line('x'.repeat(20000)));
      let burst = ''; for (let i = 0; i < 5000; i++) burst += line(String(i).padStart(120, '.'));
      process.stdout.write(burst);`;
    const name = `e2e-long-lines-${process.pid}`;
    await env.cli(['run', '-d', '--name', name, '--network', 'none', image, 'node', '-e', script]);
    try {
      const lines = await eventually(
        'all 5,001 lines in the store',
        async () => {
          const stored = await storeLines(needle);
          return stored.length >= 5001 ? stored : undefined;
        },
        30_000,
      );
      const broken = lines.filter((l) => {
        try {
          return (JSON.parse(l.msg) as { msg?: string }).msg !== needle;
        } catch {
          return true;
        }
      });
      assert.equal(broken.length, 0, `${broken.length} of ${lines.length} lines stored in pieces`);
      assert.equal(lines.length, 5001);
      assert.ok(lines.some((l) => (JSON.parse(l.msg) as { pad: string }).pad.length === 20000));
    } finally {
      await env.cli(['rm', '-f', name]).catch(() => undefined);
    }
  });

  it('keeps the logs of removed web and api containers', async () => {
    const lines = await storeLines(requestId);
    const victims = lines.filter((l) => l.tier === 'web' || l.tier === 'api').map((l) => l.container);
    assert.ok(victims.length >= 2);
    for (const name of new Set(victims)) await env.cli(['rm', '-f', name]);
    const after = await storeLines(requestId);
    for (const name of new Set(victims)) {
      assert.ok(
        after.some((l) => l.container === name),
        `lines of removed ${name} are still stored`,
      );
    }
    // Bring the removed replicas back (idempotent up).
    await env.backend.up(quietProgress);
  });
});

describe('metrics', () => {
  it('has request-duration series for each web and api replica, the balancers and the db', async () => {
    // Traffic on every replica first.
    for (let i = 0; i < 20; i++) await (await fetch(`${env.edge}/`)).arrayBuffer();
    const query = async (q: string) => {
      const res = await fetch(`${env.prometheus}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as {
        data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      return body.data.result;
    };
    for (const tier of TIERS) {
      const replicas = await byService(tier);
      const expected = replicas.map((r) => `${r.addresses.app}:9100`).sort();
      await eventually(
        `duration series for every ${tier} replica`,
        async () => {
          const series = await query(`count by (instance) (http_request_duration_seconds_count{tier="${tier}"})`);
          const instances = series.map((s) => s.metric.instance ?? '').sort();
          return expected.every((e) => instances.includes(e)) ? instances : undefined;
        },
        40_000,
        1000,
      );
    }
    await eventually(
      'balancer timing series',
      async () => {
        const series = await query('haproxy_backend_total_time_average_seconds{proxy="replicas"}');
        const services = new Set(series.map((s) => s.metric.service));
        return services.has('web-lb') && services.has('api-lb') ? services : undefined;
      },
      30_000,
      1000,
    );
    await eventually(
      'database series',
      async () => {
        const up = await query('pg_up');
        const tx = await query('pg_stat_activity_max_tx_duration');
        return up.some((s) => s.value[1] === '1') && tx.length > 0 ? true : undefined;
      },
      30_000,
      1000,
    );
  });

  it('keeps metrics for at least 15 days', async () => {
    const res = await fetch(`${env.prometheus}/api/v1/status/flags`);
    const flags = ((await res.json()) as { data: Record<string, string> }).data;
    assert.equal(flags['storage.tsdb.retention.time'], '15d');
  });
});

describe('backups', () => {
  it('restores an on-demand backup into a fresh db container with every row', async () => {
    const db = await first('db');
    const backup = await first('backup');
    const dbName = env.settings.DB_NAME ?? 'app';
    const rows = 5000;
    await env.cli([
      'exec',
      db.name,
      'psql',
      '-v',
      'ON_ERROR_STOP=1',
      '-q',
      '-d',
      dbName,
      '-c',
      `DROP TABLE IF EXISTS e2e_restore_check; CREATE TABLE e2e_restore_check AS SELECT g AS n, md5(g::text) AS h FROM generate_series(1, ${rows}) g;`,
    ]);
    await env.cli(
      ['exec', backup.name, 'pgbackrest', '--stanza=main', '--log-level-console=warn', 'backup', '--type=full'],
      300_000,
    );
    const out = await env.cli(
      [
        'run',
        '--rm',
        '--network',
        'none',
        '-e',
        `DB=${dbName}`,
        '-v',
        `${PROJECT}_backups:/var/lib/pgbackrest`,
        env.settings.DB_IMAGE ?? '',
        'db-restore-verify',
        "SELECT count(*) || ' ' || sum(n) FROM e2e_restore_check",
      ],
      300_000,
    );
    assert.equal(out.trim().split('\n').pop(), `${rows} ${(rows * (rows + 1)) / 2}`);
  });
});

describe('status', () => {
  it('lists every replica with tier, version, health and address, and the endpoints', async () => {
    const status = await env.backend.status();
    const web = status.replicas.filter((r) => r.tier === 'web');
    const api = status.replicas.filter((r) => r.tier === 'api');
    assert.equal(web.length, 2);
    assert.equal(api.length, 2);
    for (const r of [...web, ...api]) {
      assert.equal(r.version, env.settings.APP_VERSION);
      assert.match(r.address, /\d+\.\d+\.\d+\.\d+ \(app\)/);
    }
    assert.equal(status.endpoints.edge, env.edge);
    assert.equal(status.endpoints.api, env.apiLb);
  });
});
