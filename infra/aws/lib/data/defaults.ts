// Every value the data stack chooses by itself, in one place.
import * as rds from 'aws-cdk-lib/aws-rds';

export const DATA_DEFAULTS = {
  engineVersion: rds.PostgresEngineVersion.VER_17,
  /** Parameter group family of the engine above. */
  databaseName: 'tier',
  masterUsername: 'tier_admin',
  /** The API's own user (migration 002's tier_app member); the rotation alternates it with <name>_clone. */
  apiUsername: 'tier_api',
  /** Days between rotations of the API user's password; the previous user keeps working until the next one. */
  apiUserRotationDays: 30,
  port: 5432,
  /** PostgreSQL logs shipped to CloudWatch Logs. */
  logExports: ['postgresql', 'upgrade'],
  /** Queries slower than this (ms) are logged. */
  logMinDurationStatementMs: 500,
  /** Free tier of Performance Insights. */
  performanceInsightRetentionDays: 7,
  /** Enhanced monitoring granularity (OS metrics). */
  monitoringIntervalSeconds: 60,
  /** Daily at 03:00 UTC, outside the RDS backup window below. */
  backupWindow: '01:00-02:00',
  maintenanceWindow: 'sun:04:00-sun:05:00',
  /** Days a compliance-mode Vault Lock can still be changed or removed (AWS Backup's minimum is 3). */
  vaultLockChangeableForDays: 3,
  /**
   * Restore tests: twice a week, Monday and Thursday 06:00 UTC, from the latest recovery point of the last week.
   * Twice, so the overdue alarm's window (one week, the longest CloudWatch allows) always holds a test with days
   * to spare: a weekly test left it no grace, and a week whose test ended later than the last one's paged.
   */
  restoreTestSchedule: 'cron(0 6 ? * MON,THU *)',
  restoreTestSelectionWindowDays: 7,
  /** Hours the restored copy is kept for validation before AWS Backup deletes it (0-168). */
  restoreTestValidationWindowHours: 4,
  /** AWS Backup selects every resource carrying this tag. */
  backupTag: { key: 'backup', value: 'daily' },
} as const;
