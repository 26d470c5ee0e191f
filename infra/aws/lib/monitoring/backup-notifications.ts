// Failed backup, copy and restore (test) jobs reach the alarm topic through EventBridge. AWS Backup sends "Backup Job
// State Change", "Copy Job State Change" and "Restore Job State Change" events to EventBridge in the region that runs
// the job (https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html); copy jobs run in the source region.
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface BackupNotificationsProps {
  /** Prefix of the rule names, e.g. `tier-dev`. */
  readonly namePrefix: string;
  readonly topic: sns.ITopic;
}

/** Job states that mean no usable recovery point (or copy, or restore) came out of the job. */
export const FAILED_JOB_STATES = {
  'Backup Job State Change': { field: 'state', values: ['FAILED', 'ABORTED', 'EXPIRED'] },
  'Copy Job State Change': { field: 'state', values: ['FAILED', 'ABORTED', 'PARTIAL'] },
  'Restore Job State Change': { field: 'status', values: ['FAILED', 'ABORTED'] },
} as const;

export class BackupNotifications extends Construct {
  readonly rules: readonly events.Rule[];

  constructor(scope: Construct, id: string, props: BackupNotificationsProps) {
    super(scope, id);
    this.rules = Object.entries(FAILED_JOB_STATES).map(([detailType, { field, values }]) => {
      const kind = detailType.split(' ')[0]?.toLowerCase() ?? 'job';
      const rule = new events.Rule(this, `${kind}Failed`, {
        ruleName: `${props.namePrefix}-${kind}-job-failed`,
        description: `AWS Backup: ${detailType} to ${values.join('/')}`,
        // Every job of the region: a stage owns its region's jobs (the stages deploy to different regions), and a
        // failed job of anything else in the region deserves the page too.
        eventPattern: { source: ['aws.backup'], detailType: [detailType], detail: { [field]: [...values] } },
      });
      rule.addTarget(new targets.SnsTopic(props.topic));
      return rule;
    });
  }
}
