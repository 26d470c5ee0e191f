// The cross-region copy vault of a stage: its own stack in the copy region, so a regional outage or a deleted data
// stack leaves a copy of every daily recovery point (same account, its own key, the same Vault Lock).
import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import type { Construct } from 'constructs';
import { parseVaultArn, type StageConfig } from '../../config/index.js';
import { createManagedKey } from '../shared/keys.js';
import { vaultLock } from './backup.js';

export interface BackupCopyStackProps extends StackProps {
  readonly config: StageConfig;
}

/** Deployed before the data stack, whose plan copies into this vault by ARN (config.backup.copyToVaultArn). */
export class BackupCopyStack extends Stack {
  readonly vault: backup.BackupVault;

  constructor(scope: Construct, id: string, props: BackupCopyStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const { config } = props;
    const target = config.backup.copyToVaultArn ? parseVaultArn(config.backup.copyToVaultArn) : undefined;
    if (!target) throw new Error(`config/${config.stage}.ts: backup.copyToVaultArn is needed for the copy vault.`);
    if (target.region !== this.region) {
      throw new Error(
        `The copy vault ${target.name} belongs in ${target.region}, but this stack is in ${this.region}.`,
      );
    }
    // Construct ids below hold state: never rename them.
    const key = createManagedKey(this, 'CopyKey', {
      alias: `tier-${config.stage}-backup-copy`,
      description: `Cross-region copies of tier-${config.stage} recovery points`,
    });
    this.vault = new backup.BackupVault(this, 'Vault', {
      backupVaultName: target.name,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.RETAIN,
      lockConfiguration: vaultLock(config.backup.vaultLock, config.backup.dailyRetentionDays),
    });
  }
}
