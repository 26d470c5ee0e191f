// Types of index.mjs (the function ships as plain JavaScript, no build step).
export interface SmokeTarget {
  /** The test listener: `http://<internal ALB>:<test port>`. */
  readonly url: string;
  /** Read-only GETs: each must answer 200 with `contains` in its body. */
  readonly checks: ReadonlyArray<{ readonly path: string; readonly contains: string }>;
}
export interface SmokeTestResult {
  readonly hookStatus: 'SUCCEEDED' | 'FAILED';
  readonly results: readonly string[];
}
export function smokeTest(
  serviceName: string,
  targets: Readonly<Record<string, SmokeTarget>>,
  options?: { readonly fetch?: typeof fetch; readonly pauseMs?: number },
): Promise<SmokeTestResult>;
export function handler(event: unknown): Promise<{ hookStatus: 'SUCCEEDED' | 'FAILED' }>;
