// What every command gets: the selected backend, progress, and output in text or JSON.
import type { Command } from 'commander';
import { type Backend, TIERS, TierError, type TierName } from './backend.js';
import type { LocalOperations } from './local/operations.js';
import { createProgress } from './ui/progress.js';

export interface GlobalOptions {
  target: 'local' | 'aws';
  stage: string;
  region?: string;
  json: boolean;
}

export interface Context {
  readonly options: () => GlobalOptions;
  backend(): Promise<Backend>;
  /** The local target's own operations (reload, rotate); on another target, `elsewhere` is thrown. */
  localOperations(elsewhere: TierError): Promise<LocalOperations>;
  readonly progress: ReturnType<typeof createProgress>;
  /** JSON when --json is given, else the text the command renders. */
  print(data: unknown, text: () => string): void;
}

export function createContext(program: Command): Context {
  const options = () => program.opts<GlobalOptions>();
  let backend: Promise<Backend> | undefined;
  return {
    options,
    progress: createProgress(),
    backend() {
      backend ??= (async () => {
        const { target, stage, region } = options();
        if (target === 'aws') {
          const { createAwsBackend } = await import('./aws/index.js');
          return createAwsBackend({ stage, region });
        }
        const { createLocalBackend } = await import('./local/index.js');
        return createLocalBackend();
      })();
      return backend;
    },
    async localOperations(elsewhere) {
      if (options().target !== 'local') throw elsewhere;
      return (await this.backend()) as Backend & LocalOperations;
    },
    print(data, text) {
      process.stdout.write(`${options().json ? JSON.stringify(data, null, 2) : text()}\n`);
    },
  };
}

/** Parses `--tier web|api` (repeatable or comma separated); no value means every tier. */
export function parseTiers(value: string | string[] | undefined): TierName[] {
  if (value === undefined) return [...TIERS];
  const list = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim());
  for (const tier of list) {
    if (!TIERS.includes(tier as TierName)) {
      throw new TierError(`unknown tier '${tier}'`, `use one of: ${TIERS.join(', ')}`);
    }
  }
  return [...new Set(list)] as TierName[];
}
