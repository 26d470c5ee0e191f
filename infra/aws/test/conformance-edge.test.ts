// Conformance: the CloudFront distribution of every stage passes what the tiers serve. The routes come from the tiers'
// own Fastify route tables (Service.routes, collected by onRoute), the tiers built in-process as their tests do; each
// route is matched to the cache behaviour CloudFront would pick, which must reach the tier that serves it, allow the
// method, forward what the route reads (query strings, headers, Content-Type of a body), and cache a response no
// longer than the app's own Cache-Control allows.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EnvReader, type RouteEntry, type Service } from '@tier/runtime';
import { buildApi } from '../../../apps/api/src/app.js';
import { readApiConfig } from '../../../apps/api/src/config.js';
import { buildWebService } from '../../../apps/web/src/app.js';
import { readWebSettings } from '../../../apps/web/src/config.js';
import type { Json } from './support/platform.js';
import { makeResolver, STAGES, type StageName, stageStacks } from './support/templates.js';

/**
 * The managed policies the edge stack refers to by id, as AWS documents them (ids and settings from
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html and
 * .../using-managed-origin-request-policies.html). Any other id fails the test: add it here from those pages.
 */
const MANAGED_CACHE_POLICIES: Record<string, CachePolicy> = {
  // CachingDisabled: all TTLs 0, nothing in the cache key.
  '4135ea2d-6df8-44a3-9df3-4b5a84be39ad': { minTtl: 0, defaultTtl: 0, maxTtl: 0, query: false, headers: [] },
};
const MANAGED_ORIGIN_REQUEST_POLICIES: Record<string, OriginRequestPolicy> = {
  // AllViewerExceptHostHeader: every viewer header except Host, all cookies, all query strings.
  'b689b0a8-53d0-40ab-baf2-68738e2966ac': { allHeadersExcept: ['host'], headers: [], query: true },
};

interface CachePolicy {
  readonly minTtl: number;
  readonly defaultTtl: number;
  readonly maxTtl: number;
  /** Query strings in the cache key (and so forwarded). */
  readonly query: boolean;
  /** Headers in the cache key (and so forwarded), lower case. */
  readonly headers: readonly string[];
}
interface OriginRequestPolicy {
  /** Set when every viewer header is forwarded except these. */
  readonly allHeadersExcept?: readonly string[];
  readonly headers: readonly string[];
  readonly query: boolean;
}
interface Behaviour {
  readonly pathPattern: string;
  readonly allowedMethods: readonly string[];
  readonly originDomain: string;
  readonly cache: CachePolicy;
  readonly originRequest: OriginRequestPolicy | undefined;
}

function cachePolicy(resources: Record<string, Json>, id: Json): CachePolicy {
  if (typeof id === 'string') {
    const managed = MANAGED_CACHE_POLICIES[id];
    assert.ok(managed, `cache policy ${id} is neither in the template nor a managed policy listed here`);
    return managed;
  }
  const config = resources[id.Ref]?.Properties?.CachePolicyConfig;
  assert.ok(config, `cache policy ${JSON.stringify(id)} not found in the edge template`);
  const keys = config.ParametersInCacheKeyAndForwardedToOrigin;
  return {
    minTtl: Number(config.MinTTL),
    defaultTtl: Number(config.DefaultTTL),
    maxTtl: Number(config.MaxTTL),
    query: keys.QueryStringsConfig.QueryStringBehavior !== 'none',
    headers:
      keys.HeadersConfig.HeaderBehavior === 'whitelist'
        ? keys.HeadersConfig.Headers.map((h: string) => h.toLowerCase())
        : [],
  };
}

function originRequestPolicy(resources: Record<string, Json>, id: Json): OriginRequestPolicy | undefined {
  if (id === undefined) return undefined;
  if (typeof id === 'string') {
    const managed = MANAGED_ORIGIN_REQUEST_POLICIES[id];
    assert.ok(managed, `origin request policy ${id} is neither in the template nor a managed policy listed here`);
    return managed;
  }
  const config = resources[id.Ref]?.Properties?.OriginRequestPolicyConfig;
  assert.ok(config, `origin request policy ${JSON.stringify(id)} not found in the edge template`);
  const headers = config.HeadersConfig;
  const lower = (list: string[] | undefined) => (list ?? []).map((h) => h.toLowerCase());
  return {
    ...(headers.HeaderBehavior === 'allViewer' || headers.HeaderBehavior === 'allViewerAndWhitelistCloudFront'
      ? { allHeadersExcept: [] }
      : headers.HeaderBehavior === 'allExcept'
        ? { allHeadersExcept: lower(headers.Headers) }
        : {}),
    headers: headers.HeaderBehavior === 'whitelist' ? lower(headers.Headers) : [],
    query: config.QueryStringsConfig.QueryStringBehavior !== 'none',
  };
}

/** The distribution's behaviours in CloudFront's order: CacheBehaviors as listed, then the default (`*`). */
function behaviours(stage: StageName): Behaviour[] {
  const stacks = stageStacks(stage);
  const resolve = makeResolver(stacks);
  const edge = stacks.find((s) => s.id === 'Edge');
  assert.ok(edge, `${stage}: no edge stack`);
  const distributions = Object.values(edge.template.Resources).filter(
    (r: Json) => r.Type === 'AWS::CloudFront::Distribution',
  );
  assert.equal(distributions.length, 1, `${stage}: one distribution expected`);
  const config = (distributions[0] as Json).Properties.DistributionConfig;
  const origins = new Map<string, string>(
    config.Origins.map((o: Json) => [o.Id, resolve(edge, o.DomainName)] as [string, string]),
  );
  const toBehaviour = (b: Json, pathPattern: string): Behaviour => ({
    pathPattern,
    allowedMethods: b.AllowedMethods ?? ['GET', 'HEAD'],
    originDomain: origins.get(b.TargetOriginId) ?? `unknown origin ${b.TargetOriginId}`,
    cache: cachePolicy(edge.template.Resources, b.CachePolicyId),
    originRequest: originRequestPolicy(edge.template.Resources, b.OriginRequestPolicyId),
  });
  return [
    ...(config.CacheBehaviors ?? []).map((b: Json) => toBehaviour(b, b.PathPattern)),
    toBehaviour(config.DefaultCacheBehavior, '*'),
  ];
}

/**
 * CloudFront's path patterns: `*` matches any run of characters (slashes included), `?` exactly one, matching is
 * case-sensitive, a leading `/` is optional, and the first behaviour in the list that matches wins
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html#DownloadDistValuesPathPattern).
 */
export function matchesPathPattern(pattern: string, path: string): boolean {
  const normalised = pattern.startsWith('/') || pattern === '*' ? pattern : `/${pattern}`;
  const body = normalised
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`).test(path);
}

/** A concrete request path for a route (`:id` and `*` filled in). */
function samplePath(url: string): string {
  return url.replace(/:[A-Za-z0-9_]+/g, 'x').replace(/\*/g, 'x');
}

/**
 * How long CloudFront keeps a response: no-store/no-cache/private -> MinTTL (so never when it is 0); s-maxage or
 * max-age -> that, clamped to [MinTTL, MaxTTL]; no directive -> DefaultTTL
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html, and the CachePolicyConfig
 * note: "If your minimum TTL is greater than 0, CloudFront will cache content for at least the duration specified
 * in the cache policy's minimum TTL, even if the Cache-Control: no-cache, no-store, or private directives are present").
 */
function edgeTtl(cacheControl: string | undefined, policy: CachePolicy): number {
  const cc = (cacheControl ?? '').toLowerCase();
  if (/\b(no-store|no-cache|private)\b/.test(cc)) return policy.minTtl;
  const age = /\bs-maxage=(\d+)/.exec(cc)?.[1] ?? /\bmax-age=(\d+)/.exec(cc)?.[1];
  if (age !== undefined) return Math.min(Math.max(Number(age), policy.minTtl), policy.maxTtl);
  return policy.defaultTtl;
}

/** How long a shared cache may keep the response by the app's own Cache-Control (unmarked: not at all). */
function appAllowsTtl(cacheControl: string | undefined): number {
  const cc = (cacheControl ?? '').toLowerCase();
  if (!cc || /\b(no-store|no-cache|private)\b/.test(cc)) return 0;
  return Number(/\bs-maxage=(\d+)/.exec(cc)?.[1] ?? /\bmax-age=(\d+)/.exec(cc)?.[1] ?? 0);
}

interface ServedRoute extends RouteEntry {
  readonly tier: 'web' | 'api';
  readonly path: string;
  /** Cache-Control of a real answer (GET/HEAD only), from the app built in-process. */
  readonly cacheControl?: string;
}

const tiers: Array<{ tier: 'web' | 'api'; service: Service }> = [];
const served: ServedRoute[] = [];

before(async () => {
  // Nothing listens on these: the API answers 503 without its database, the web tier its problem page. Both still
  // set the Cache-Control they always set, which is what the edge must respect.
  const api = await buildApi(
    readApiConfig(
      new EnvReader({ DB: 'tier', DBUSER: 'u', DBPASS: 'p', DBHOST: '127.0.0.1', DBPORT: '9', LOG_LEVEL: 'silent' }),
    ),
  );
  const web = await buildWebService(readWebSettings({ API_HOST: 'http://127.0.0.1:9', LOG_LEVEL: 'silent' }));
  tiers.push({ tier: 'api', service: api }, { tier: 'web', service: web });
  for (const { tier, service } of tiers) {
    await service.app.ready();
    for (const route of service.routes) {
      const path = samplePath(route.url);
      let cacheControl: string | undefined;
      if (route.method === 'GET' || route.method === 'HEAD') {
        const res = await service.app.inject({ method: route.method, url: path });
        cacheControl = res.headers['cache-control']?.toString();
      }
      served.push({ ...route, tier, path, ...(cacheControl !== undefined ? { cacheControl } : {}) });
    }
  }
});

after(async () => {
  for (const { service } of tiers) await service.app.close();
});

for (const stage of STAGES) {
  describe(`CloudFront of ${stage} passes what the tiers serve`, () => {
    const behaviourFor = (path: string) => {
      const found = behaviours(stage).find((b) => matchesPathPattern(b.pathPattern, path));
      assert.ok(found, 'the default behaviour matches every path');
      return found;
    };
    const albOf = (tier: 'web' | 'api') => {
      const stacks = stageStacks(stage);
      const services = stacks.find((s) => s.id === 'Services');
      assert.ok(services, `${stage}: no services stack`);
      const key = tier === 'web' ? 'WebAlbDnsName' : 'ApiAlbDnsName';
      return makeResolver(stacks)(services, services.template.Outputs?.[key]?.Value);
    };

    test('the route tables are not empty (web pages and assets, api routes)', () => {
      assert.ok(served.some((r) => r.tier === 'web' && r.method === 'POST'));
      assert.ok(served.some((r) => r.tier === 'api' && r.method === 'GET'));
    });

    test('GIVEN each route WHEN CloudFront picks its behaviour THEN it goes to the ALB of the tier serving it', () => {
      for (const r of served) {
        const b = behaviourFor(r.path);
        assert.equal(b.originDomain, albOf(r.tier), `${r.method} ${r.url} (${r.tier}) -> behaviour ${b.pathPattern}`);
      }
    });

    test('GIVEN each route WHEN CloudFront picks its behaviour THEN that behaviour allows the method', () => {
      for (const r of served) {
        const b = behaviourFor(r.path);
        assert.ok(
          b.allowedMethods.includes(r.method),
          `${r.method} ${r.url} (${r.tier}): behaviour ${b.pathPattern} allows only ${b.allowedMethods.join(', ')}`,
        );
      }
    });

    test('GIVEN each route WHEN CloudFront forwards it THEN the query strings and headers the route reads arrive', () => {
      for (const r of served) {
        const b = behaviourFor(r.path);
        const schema = (r.schema ?? {}) as Json;
        const where = `${r.method} ${r.url} (${r.tier}) via ${b.pathPattern}`;
        if (Object.keys(schema.querystring?.properties ?? {}).length > 0)
          assert.ok(b.cache.query || b.originRequest?.query, `${where}: query strings are not forwarded`);
        const headers = Object.keys(schema.headers?.properties ?? {}).map((h) => h.toLowerCase());
        if (schema.body !== undefined || ['POST', 'PUT', 'PATCH'].includes(r.method)) headers.push('content-type');
        for (const header of headers) {
          const forwarded =
            b.cache.headers.includes(header) ||
            b.originRequest?.headers.includes(header) ||
            (b.originRequest?.allHeadersExcept !== undefined && !b.originRequest.allHeadersExcept.includes(header));
          assert.ok(forwarded, `${where}: header ${header} is not forwarded`);
        }
      }
    });

    test("GIVEN each GET route's real answer WHEN CloudFront caches it THEN no longer than its Cache-Control allows", () => {
      for (const r of served.filter((x) => x.method === 'GET')) {
        const b = behaviourFor(r.path);
        const ttl = edgeTtl(r.cacheControl, b.cache);
        assert.ok(
          ttl <= appAllowsTtl(r.cacheControl),
          `GET ${r.url} (${r.tier}) answers Cache-Control "${r.cacheControl ?? ''}" but behaviour ${b.pathPattern} keeps it ${ttl} s`,
        );
      }
    });
  });
}

describe('CloudFront path patterns', () => {
  test('* spans slashes, ? is one character, matching is case-sensitive and the leading / optional', () => {
    assert.ok(matchesPathPattern('/api/*', '/api/messages/x'));
    assert.ok(matchesPathPattern('api/*', '/api/messages'));
    assert.ok(!matchesPathPattern('/api/*', '/API/messages'));
    assert.ok(matchesPathPattern('/images/?.svg', '/images/a.svg'));
    assert.ok(!matchesPathPattern('/images/?.svg', '/images/ab.svg'));
    assert.ok(matchesPathPattern('*', '/'));
  });
});
