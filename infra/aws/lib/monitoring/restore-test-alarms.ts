// Alarms for the restore tests' own verdict (twice a week). A test whose data check fails leaves its restore job COMPLETED
// (only the job's ValidationStatus says FAILED), so the "Restore Job State Change" rule never sees it; the validation
// function's report line in its log group (/tier/<stage>/restore-validation) does. Two metric filters count those
// lines, one alarm pages on a FAILED verdict, another when no SUCCESSFUL one arrived for a week.
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { RESTORE_CHECK } from '../data/restore-validation.js';
import { ALARM_DEFAULTS } from './defaults.js';

export interface RestoreTestAlarmsProps {
  /** Prefix of the alarm names, e.g. `tier-dev`. */
  readonly namePrefix: string;
  readonly stage: string;
  readonly topic: sns.ITopic;
}

/**
 * What a report line must contain. The function writes one JSON line per event it handles,
 * `{"event":"restore-validation","source":…,"status":"SUCCESSFUL"|"FAILED"|"STARTED"|"SKIPPED","message":…}`
 * (restore-validation/index.mjs, handler), through console.log, so Lambda's text log format puts
 * `<time>\t<request id>\tINFO\t` before it ("Log and monitor Node.js Lambda functions", Lambda Developer Guide): the
 * event is not a JSON document, so JSON filter patterns (`{ $.status = … }`) would not match it; terms do. Terms are
 * case-sensitive, a quoted term is an exact phrase, `-term` excludes ("Filter pattern syntax for metric filters,
 * subscription filters, and filter log events", CloudWatch Logs User Guide). SKIPPED lines are repeated deliveries
 * of an event for a job that already has its verdict ("already validated: FAILED") and are not counted again.
 */
export const RESTORE_REPORT_PATTERNS = {
  failed: '"restore-validation" FAILED -SKIPPED',
  successful: '"restore-validation" SUCCESSFUL -SKIPPED',
} as const;

export class RestoreTestAlarms extends Construct {
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: RestoreTestAlarmsProps) {
    super(scope, id);
    const d = ALARM_DEFAULTS.restoreTest;
    // The data stack creates the group (monitoring deploys after it); imported by its literal name.
    const logGroup = logs.LogGroup.fromLogGroupName(this, 'ValidationLogs', RESTORE_CHECK.logGroupName(props.stage));
    const namespace = `Tier/${props.stage}/RestoreTesting`;
    const count = (key: string, metricName: string, pattern: string) =>
      new logs.MetricFilter(this, key, {
        logGroup,
        filterName: `${props.namePrefix}-${metricName}`,
        filterPattern: logs.FilterPattern.literal(pattern),
        metricNamespace: namespace,
        metricName,
        metricValue: '1',
        unit: cloudwatch.Unit.COUNT,
      });
    const failed = count('FailedReports', 'ValidationsFailed', RESTORE_REPORT_PATTERNS.failed);
    const successful = count('SuccessfulReports', 'ValidationsSuccessful', RESTORE_REPORT_PATTERNS.successful);

    this.alarms = [
      // One FAILED line pages; the alarm stays up for the day it is counted in, then returns to OK (no line, no
      // datapoint: not breaching). The restore job itself shows the reason (DescribeRestoreJob ValidationStatusMessage).
      new cloudwatch.Alarm(this, 'Failed', {
        alarmName: `${props.namePrefix}-restore-test-failed`,
        alarmDescription: `A restore test's data check reported FAILED to AWS Backup in the last ${d.failedWindow.toHours()} hours (its restore job still says COMPLETED). Runbook: docs/runbooks/restore-test-alarm.md`,
        metric: failed.metric({ statistic: 'Sum', period: d.failedWindow }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      // Missing data is breaching: a plan that stops running, a function that no longer reports, or a report nobody
      // counts all end here. The window is the longest CloudWatch allows (Period x EvaluationPeriods at most 604,800 s,
      // PutMetricAlarm API reference), one week; the plan tests twice a week (Monday and Thursday, data/defaults.ts),
      // so the window always holds a test with three days to spare and one late or failed test alone does not page.
      // After the first deploy of a stage it is in ALARM at once and stays there until the first test passes: until
      // then no restore has been proven (and the plan needs a recovery point from the last week).
      new cloudwatch.Alarm(this, 'Overdue', {
        alarmName: `${props.namePrefix}-restore-test-overdue`,
        alarmDescription: `No restore test passed its data check in the last ${d.overdueDays} days (tests twice a week): the plan did not run, the check failed, or its result never reached the log group. In ALARM after a stage's first deploy until its first test passes. Runbook: docs/runbooks/restore-test-alarm.md`,
        metric: successful.metric({ statistic: 'Sum', period: d.overduePeriod }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: d.overdueDays,
        datapointsToAlarm: d.overdueDays,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    ];
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(new actions.SnsAction(props.topic));
      alarm.addOkAction(new actions.SnsAction(props.topic));
    }
  }
}
