// Which instance is the stage's live database, as configuration: the services stack reads these parameters at every
// deployment (DBHOST, the owner's secret) and `tier restore --target aws` overwrites them after a verified restore.
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { type LiveDatabaseField, liveDatabaseParameter } from '../../../../packages/contract/src/index.js';

export interface LiveDatabaseProps {
  readonly stage: string;
  /** The values of the instance this stack creates: what the parameters hold until a restore replaces it. */
  readonly initial: Readonly<Record<LiveDatabaseField, string>>;
}

export class LiveDatabase extends Construct {
  readonly parameters: Readonly<Record<LiveDatabaseField, ssm.StringParameter>>;

  constructor(scope: Construct, id: string, props: LiveDatabaseProps) {
    super(scope, id);
    // CloudFormation writes a value only when this resource's properties change, and those are the stack instance's
    // fixed attributes: after a restore the value tier wrote stays. Never add a property that changes (a description
    // with a date, a tag), or the next deployment points the application back at the replaced instance.
    const field = (name: LiveDatabaseField) =>
      new ssm.StringParameter(this, name, {
        parameterName: liveDatabaseParameter(props.stage, name),
        description: `Live database ${name} of tier-${props.stage} (tier restore --target aws switches it)`,
        stringValue: props.initial[name],
      });
    this.parameters = {
      'instance-id': field('instance-id'),
      host: field('host'),
      'master-secret-arn': field('master-secret-arn'),
    };
  }
}
