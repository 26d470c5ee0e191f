// Test-only fault injection: FAULT_5XX_PERCENT=N makes this replica answer N % of its API requests
// with a 500 (an even, deterministic spread), so tests can ship a bad version on purpose (the
// canary's judgement under load). Off (0) by default; no stage's configuration sets it.
import type { EnvReader } from '@tier/runtime';
import type { FastifyInstance } from 'fastify';

export interface FaultSettings {
  /** Share of requests answered 500 before any route runs, 0..100. @default 0 (off) */
  readonly fail5xxPercent: number;
}

export function readFaultSettings(env: EnvReader): FaultSettings {
  return Object.freeze({ fail5xxPercent: env.int('FAULT_5XX_PERCENT', 0, 0, 100) });
}

/**
 * Answers every request whose turn it is with a 500 (not 503: the API balancer retries a 503 on
 * another replica, which would hide the fault from the client). Nothing has run yet, so no write
 * happens. The admin port (/readyz) is another server: the replica stays in rotation.
 */
export function injectFaults(app: FastifyInstance, settings: FaultSettings): void {
  const percent = settings.fail5xxPercent;
  if (percent <= 0) return;
  let seen = 0;
  app.addHook('onRequest', (_req, reply, done) => {
    seen += 1;
    // The n-th request fails when it carries the running share past another whole request.
    if (Math.floor((seen * percent) / 100) > Math.floor(((seen - 1) * percent) / 100)) {
      reply
        .code(500)
        .type('application/json')
        .send(JSON.stringify({ error: 'Internal Server Error', message: 'fault injected (FAULT_5XX_PERCENT)' }));
      return;
    }
    done();
  });
}
