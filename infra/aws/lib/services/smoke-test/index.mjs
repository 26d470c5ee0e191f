// The pre-traffic smoke test: ECS runs it as a lifecycle hook once the test listener sends to the new tasks and
// before any production request does. Read-only GETs through the test listener; the answer tells ECS to go on
// (SUCCEEDED) or roll back (FAILED). Which test listener and what to ask come from the SMOKE_TARGETS environment
// variable, keyed by service name (the event names the service by ARN).

/** How often one check is tried before it fails: a new task may still be warming its pool. */
const ATTEMPTS = 3;
const PAUSE_MS = 2000;
const TIMEOUT_MS = 5000;

/**
 * @typedef {{ url: string, checks: Array<{ path: string, contains: string }> }} SmokeTarget
 * @param {string} serviceName
 * @param {Record<string, SmokeTarget>} targets
 * @param {{ fetch?: typeof fetch, pauseMs?: number }} [options]
 * @returns {Promise<{ hookStatus: 'SUCCEEDED' | 'FAILED', results: string[] }>}
 */
export async function smokeTest(serviceName, targets, options = {}) {
  const target = targets[serviceName];
  if (!target) return { hookStatus: 'FAILED', results: [`no smoke test is configured for service ${serviceName}`] };
  const get = options.fetch ?? fetch;
  const pauseMs = options.pauseMs ?? PAUSE_MS;
  const results = [];
  let failed = false;
  for (const check of target.checks) {
    const url = `${target.url}${check.path}`;
    let outcome = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const res = await get(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual' });
        const body = await res.text();
        if (res.status === 200 && body.includes(check.contains)) {
          outcome = '';
          break;
        }
        outcome = res.status === 200 ? `200 without "${check.contains}"` : `status ${res.status}`;
      } catch (err) {
        outcome = `no answer (${err instanceof Error ? err.message : String(err)})`;
      }
      if (attempt < ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    failed ||= outcome !== '';
    results.push(outcome ? `GET ${url}: ${outcome}` : `GET ${url}: ok`);
  }
  return { hookStatus: failed ? 'FAILED' : 'SUCCEEDED', results };
}

/** Lambda entry point: the ECS lifecycle hook event carries the service's ARN (…:service/<cluster>/<name>). */
export async function handler(event) {
  const serviceName =
    String(event?.serviceArn ?? '')
      .split('/')
      .pop() ?? '';
  const { hookStatus, results } = await smokeTest(serviceName, JSON.parse(process.env.SMOKE_TARGETS ?? '{}'));
  console.log(
    JSON.stringify({
      event: 'smoke-test',
      serviceName,
      targetServiceRevisionArn: event?.targetServiceRevisionArn,
      hookStatus,
      results,
    }),
  );
  return { hookStatus };
}
