// Reads settings from the environment once, collecting every problem so start-up fails with one
// message that names each bad variable.
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Source = Record<string, string | undefined>;

export class EnvReader {
  private readonly problems: string[] = [];
  constructor(private readonly env: Source = process.env) {}

  /** A string; required when no fallback is given. Empty counts as missing. */
  string(name: string, fallback?: string): string {
    const raw = this.env[name];
    if (raw === undefined || raw === '') {
      if (fallback === undefined) this.problems.push(`${name} is required`);
      return fallback ?? '';
    }
    return raw;
  }

  optional(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw === '' ? undefined : raw;
  }

  /** An integer within [min, max]. */
  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      this.problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  port(name: string, fallback: number): number {
    return this.int(name, fallback, 0, 65535);
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name]?.toLowerCase();
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    this.problems.push(`${name} must be true or false (got "${this.env[name]}")`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!allowed.includes(raw as T)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  }

  /** An absolute http(s) URL, returned without a trailing slash. */
  url(name: string, fallback?: string): string {
    const raw = this.string(name, fallback);
    try {
      const parsed = new URL(raw);
      if (!['http:', 'https:'].includes(parsed.protocol)) throw new Error('protocol');
      return raw.replace(/\/+$/, '');
    } catch {
      if (raw !== '') this.problems.push(`${name} must be an http(s) URL (got "${raw}")`);
      return raw;
    }
  }

  check(extra?: (problem: (message: string) => void) => void): void {
    extra?.((message) => this.problems.push(message));
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

/** Settings every tier shares. */
export interface ServiceSettings {
  readonly port: number;
  readonly host: string;
  readonly adminPort: number;
  readonly version: string;
  readonly logLevel: string;
  /** How long readiness reports 503 before the listener closes, so balancers stop routing first. */
  readonly drainMs: number;
  /** Longer than any balancer idle timeout (ALB default 60 s), so Node never closes a socket first. */
  readonly keepAliveTimeoutMs: number;
  /** Hard stop: exit even if requests are still running. */
  readonly shutdownTimeoutMs: number;
}

/**
 * Each tier's admin port when ADMIN_PORT is not set. Distinct, so both tiers started on one host with
 * only PORT set (`npm start -w apps/api` and `-w apps/web`, as the original app runs) do not collide.
 * Images and task definitions set ADMIN_PORT=9100 explicitly: one port per container, whatever the tier.
 */
export const DEFAULT_ADMIN_PORTS = Object.freeze({ api: 9101, web: 9102 });

export function readServiceSettings(env: EnvReader, defaults: { readonly adminPort: number }): ServiceSettings {
  return {
    port: env.port('PORT', 3000),
    host: env.string('HOST', '0.0.0.0'),
    adminPort: env.port('ADMIN_PORT', defaults.adminPort),
    version: env.string('APP_VERSION', 'dev'),
    logLevel: env.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    drainMs: env.int('SHUTDOWN_DRAIN_MS', 3000, 0, 60_000),
    keepAliveTimeoutMs: env.int('KEEP_ALIVE_TIMEOUT_MS', 65_000, 1000, 600_000),
    shutdownTimeoutMs: env.int('SHUTDOWN_TIMEOUT_MS', 25_000, 1000, 120_000),
  };
}
