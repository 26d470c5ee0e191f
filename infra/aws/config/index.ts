// Picks a stage's configuration by name and checks it, so a typo fails synthesis with a message naming the fix.
import { ALARM_DEFAULTS } from '../lib/monitoring/defaults.js';
import { TIERS } from '../lib/shared/naming.js';
import { dev } from './dev.js';
import { prod } from './prod.js';
import type { StageConfig } from './stage-config.js';

export type { ImageSource, StageConfig, TierSizing } from './stage-config.js';

export const stages: Readonly<Record<string, StageConfig>> = { dev, prod };

/** Values CloudWatch Logs accepts as retention. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** Returns the named stage, with the pipeline's image tag (`-c imageTag=<sha>`) applied when given. */
export function loadStageConfig(name: string | undefined, overrides: { imageTag?: string } = {}): StageConfig {
  if (!name) throw new Error(`No stage given: pass -c stage=<${Object.keys(stages).join('|')}>.`);
  const base = stages[name];
  if (!base)
    throw new Error(`Unknown stage "${name}": use one of ${Object.keys(stages).join(', ')} (config/index.ts).`);
  const config: StageConfig =
    overrides.imageTag && base.services.image.kind === 'ecr'
      ? { ...base, services: { ...base.services, image: { kind: 'ecr', tag: overrides.imageTag } } }
      : base;
  validateStageConfig(config);
  return config;
}

/** The parts of a backup vault ARN, or undefined when it is not one. */
export function parseVaultArn(arn: string): { region: string; account: string; name: string } | undefined {
  const m = /^arn:aws:backup:([a-z0-9-]+):(\d{12}):backup-vault:([A-Za-z0-9_.-]{2,50})$/.exec(arn);
  return m ? { region: m[1] as string, account: m[2] as string, name: m[3] as string } : undefined;
}

/** Throws on the first value that would synthesize something broken or unsafe. */
export function validateStageConfig(c: StageConfig): void {
  const where = `config/${c.stage}.ts`;
  if (!/^\d{12}$/.test(c.account)) throw new Error(`${where}: account "${c.account}" must be 12 digits.`);
  if (c.maxAzs < 2)
    throw new Error(`${where}: maxAzs is ${c.maxAzs}; use at least 2 so every tier survives an AZ loss.`);
  if (c.natGateways < 1 || c.natGateways > c.maxAzs) {
    throw new Error(`${where}: natGateways must be between 1 and maxAzs (${c.maxAzs}), got ${c.natGateways}.`);
  }
  const d = c.database;
  if (d.backupRetentionDays < 1 || d.backupRetentionDays > 35) {
    throw new Error(`${where}: database.backupRetentionDays must be 1-35 (RDS limit), got ${d.backupRetentionDays}.`);
  }
  if (ALARM_DEFAULTS.instanceMemoryGiB[d.instanceType] === undefined) {
    throw new Error(
      `${where}: database.instanceType "${d.instanceType}" has no memory size in lib/monitoring/defaults.ts (instanceMemoryGiB), which sizes the memory and connection alarms; add it there.`,
    );
  }
  if (d.maxAllocatedStorageGiB < d.allocatedStorageGiB) {
    throw new Error(`${where}: database.maxAllocatedStorageGiB must be >= allocatedStorageGiB.`);
  }
  for (const tier of TIERS) {
    const s = c.services[tier];
    if (s.minTasks < 2) throw new Error(`${where}: services.${tier}.minTasks must be >= 2 (one per AZ at least).`);
    if (s.maxTasks < s.minTasks) throw new Error(`${where}: services.${tier}.maxTasks must be >= minTasks.`);
  }
  if (c.services.image.kind === 'ecr' && !/^[\w][\w.-]{0,127}$/.test(c.services.image.tag)) {
    throw new Error(`${where}: image tag "${c.services.image.tag}" is not a valid Docker tag.`);
  }
  const o = c.observability;
  if (!LOG_RETENTION_DAYS.includes(o.logRetentionDays)) {
    throw new Error(`${where}: observability.logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(', ')}.`);
  }
  if (!/^[^@\s]+@[^@\s]+$/.test(o.alarmEmail)) throw new Error(`${where}: observability.alarmEmail is not an address.`);
  if (!/^[\w.-]+\/[\w.-]+$/.test(c.pipeline.githubRepo)) {
    throw new Error(`${where}: pipeline.githubRepo must be "owner/name", got "${c.pipeline.githubRepo}".`);
  }
  const p = c.pipeline;
  if (!/^[A-Za-z0-9][\w.-]{0,254}$/.test(p.githubEnvironment)) {
    throw new Error(
      `${where}: pipeline.githubEnvironment must name a GitHub environment, got "${p.githubEnvironment}".`,
    );
  }
  if (!/^[a-z0-9]{1,10}$/.test(p.bootstrapQualifier)) {
    throw new Error(
      `${where}: pipeline.bootstrapQualifier must be 1-10 lowercase letters or digits (cdk bootstrap --qualifier).`,
    );
  }
  for (const other of Object.values(stages)) {
    if (other.stage === c.stage) continue;
    if (
      other.pipeline.githubEnvironment === p.githubEnvironment ||
      other.pipeline.bootstrapQualifier === p.bootstrapQualifier
    ) {
      throw new Error(
        `${where}: pipeline.githubEnvironment and bootstrapQualifier must differ from config/${other.stage}.ts, or one stage's jobs could act on the other.`,
      );
    }
  }
  if (p.promoteFrom !== undefined && (p.promoteFrom === c.stage || !stages[p.promoteFrom])) {
    throw new Error(`${where}: pipeline.promoteFrom must name another stage (${Object.keys(stages).join(', ')}).`);
  }
  const operator = c.operator ?? {};
  for (const arn of operator.trustedPrincipals ?? []) {
    if (!/^arn:aws:iam::\d{12}:(root|role\/[\w+=,.@/-]{1,512})$/.test(arn)) {
      throw new Error(
        `${where}: operator.trustedPrincipals "${arn}" must be arn:aws:iam::<account>:root or arn:aws:iam::<account>:role/<path/name>.`,
      );
    }
    if (operator.requireMfa === false && arn.endsWith(':root')) {
      throw new Error(
        `${where}: operator.requireMfa is false but "${arn}" trusts every principal of that account; MFA may be left to the identity provider only for its roles (IAM Identity Center).`,
      );
    }
  }
  if (operator.trustedPrincipals?.length === 0) {
    throw new Error(`${where}: operator.trustedPrincipals is empty; omit it to trust the stage account (with MFA).`);
  }
  if (operator.requireMfa === false && !operator.trustedPrincipals) {
    throw new Error(
      `${where}: operator.requireMfa is false without operator.trustedPrincipals; the default trusts the whole account and needs MFA.`,
    );
  }
  const copy = c.backup.copyToVaultArn;
  if (copy !== undefined) {
    const parsed = parseVaultArn(copy);
    if (!parsed) {
      throw new Error(
        `${where}: backup.copyToVaultArn "${copy}" is not arn:aws:backup:<region>:<account>:backup-vault:<name>.`,
      );
    }
    if (parsed.account !== c.account || parsed.region === c.region) {
      throw new Error(
        `${where}: backup.copyToVaultArn must name a vault of account ${c.account} in another region than ${c.region} (the backup-copy stack creates it).`,
      );
    }
  }
  if (c.edge.rateLimitPer5Min < 10) throw new Error(`${where}: edge.rateLimitPer5Min must be >= 10 (WAF minimum).`);
}
