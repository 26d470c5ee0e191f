// Where the API's database credentials come from, read again for new connections so a rotated
// password is picked up without a restart: the environment (fixed), a file re-read when it changes
// (the local stand-in for a secret store), or an AWS Secrets Manager secret, cached for a while.
import { readFile, stat } from 'node:fs/promises';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { PasswordSettings } from './config.js';

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export interface CredentialSource {
  /** Where the credentials come from, for errors and logs (never the value). */
  readonly origin: string;
  /** The credentials for a new connection: cached, read again when the source may have changed. */
  current(): Promise<Credentials>;
  /**
   * The server refused `failed`: read the source again, unless another connection already did
   * (the cache holds newer ones) or a refresh read it within the last second (a wrong secret is
   * not read once per request).
   */
  refresh(failed: Credentials): Promise<Credentials>;
  /** The last credentials read, if any: a connection's user is fixed when it is created. */
  cached(): Credentials | undefined;
}

/** The source could not be read: no credentials to try, which is not the database being down. */
export class CredentialsUnavailableError extends Error {
  readonly code = 'ECREDENTIALS';
  constructor(origin: string, cause: unknown) {
    super(`cannot read the database credentials from ${origin}: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
  }
}

/** Refusals within this long of the last refresh are answered from it, not another read. */
const MIN_REFRESH_INTERVAL_MS = 1000;

/**
 * The caching shared by every source: one read in flight at a time, `isStale` decides when the
 * cache is read again, and refresh() after a refusal reads again unless a read has just finished.
 */
class CachedSource implements CredentialSource {
  #value: Credentials | undefined;
  #readAt = Number.NEGATIVE_INFINITY;
  #refreshedAt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<Credentials> | undefined;

  constructor(
    readonly origin: string,
    private readonly read: () => Promise<Credentials>,
    private readonly isStale: (readAt: number) => Promise<boolean>,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  cached(): Credentials | undefined {
    return this.#value;
  }

  async current(): Promise<Credentials> {
    if (this.#value && !(await this.isStale(this.#readAt))) return this.#value;
    return this.#readOnce();
  }

  async refresh(failed: Credentials): Promise<Credentials> {
    if (this.#value && this.#value !== failed) return this.#value;
    if (this.#value && this.now() - this.#refreshedAt < MIN_REFRESH_INTERVAL_MS) return this.#value;
    const fresh = await this.#readOnce();
    this.#refreshedAt = this.now();
    return fresh;
  }

  #readOnce(): Promise<Credentials> {
    this.#inFlight ??= (async () => {
      const startedAt = this.now();
      try {
        this.#value = await this.read();
        this.#readAt = startedAt;
        return this.#value;
      } catch (err) {
        throw new CredentialsUnavailableError(this.origin, err);
      } finally {
        this.#inFlight = undefined;
      }
    })();
    return this.#inFlight;
  }
}

/**
 * A secret's text: {"username", "password", ...} as Secrets Manager's database secrets hold it
 * (the user can change with each rotation), or a bare password for `fallbackUser`.
 */
export function parseSecretText(text: string, fallbackUser: string | undefined, origin: string): Credentials {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: { username?: unknown; password?: unknown };
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      // JSON.parse quotes the text it failed on: never let the secret reach a log.
      throw new Error(`${origin} is not valid JSON`);
    }
    if (typeof parsed.password !== 'string' || parsed.password === '') {
      throw new Error(`${origin} has no "password"`);
    }
    const user = typeof parsed.username === 'string' && parsed.username !== '' ? parsed.username : fallbackUser;
    if (!user) throw new Error(`${origin} has no "username" and DBUSER is not set`);
    return { user, password: parsed.password };
  }
  if (trimmed === '') throw new Error(`${origin} is empty`);
  if (!fallbackUser) throw new Error(`${origin} holds a bare password and DBUSER is not set`);
  return { user: fallbackUser, password: trimmed };
}

export interface SourceSeams {
  /** Secrets Manager client (tests pass one; by default one for the secret's region). */
  readonly secretsManager?: SecretsManagerClient;
  readonly now?: () => number;
}

export function createCredentialSource(
  user: string | undefined,
  password: PasswordSettings,
  seams: SourceSeams = {},
): CredentialSource {
  switch (password.from) {
    case 'env': {
      const fixed = { user: user ?? '', password: password.value };
      return new CachedSource(
        'DBPASS',
        async () => fixed,
        async () => false,
        seams.now,
      );
    }
    case 'file': {
      const origin = `file ${password.file}`;
      // Size, inode and modification time: a replaced or rewritten file is read again.
      let seen = '';
      const signature = async () => {
        const s = await stat(password.file, { bigint: true });
        return `${s.ino}:${s.size}:${s.mtimeNs}`;
      };
      return new CachedSource(
        origin,
        async () => {
          seen = await signature();
          return parseSecretText(await readFile(password.file, 'utf8'), user, origin);
        },
        async () => (await signature().catch(() => seen)) !== seen,
        seams.now,
      );
    }
    case 'secretsmanager': {
      const origin = `secret ${password.secretArn}`;
      const region = password.secretArn.split(':')[3];
      const client = seams.secretsManager ?? new SecretsManagerClient({ region });
      const now = seams.now ?? performance.now.bind(performance);
      return new CachedSource(
        origin,
        async () => {
          const answer = await client.send(new GetSecretValueCommand({ SecretId: password.secretArn }));
          if (answer.SecretString === undefined) throw new Error(`${origin} has no SecretString`);
          return parseSecretText(answer.SecretString, user, origin);
        },
        async (readAt) => now() - readAt >= password.cacheMs,
        now,
      );
    }
  }
}
