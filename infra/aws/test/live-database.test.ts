// The live database is configuration: the data stack creates the parameters with its own instance's values, the
// services read the host and the owner's secret from them at every deployment, so `tier restore` switches the
// application by writing them and updating the services stack with its deployed template.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { LIVE_DATABASE_FIELDS, liveDatabaseParameter } from '../../../packages/contract/src/index.js';
import { type Json, platform, resourcesOf, template } from './support/platform.js';

/** The template parameter (SSM-typed, resolved at every deployment) that reads `name`, if any. */
function ssmParameterReading(t: ReturnType<typeof template>, name: string): string | undefined {
  const params = (t.toJSON().Parameters ?? {}) as Record<string, { Type: string; Default?: string }>;
  return Object.entries(params).find(
    ([, p]) => p.Type.startsWith('AWS::SSM::Parameter::Value') && p.Default === name,
  )?.[0];
}

function containers(t: ReturnType<typeof template>): Json[] {
  return resourcesOf(t, 'AWS::ECS::TaskDefinition').flatMap(([, td]) => td.Properties.ContainerDefinitions as Json[]);
}

describe('the live database as configuration', () => {
  test("GIVEN a stage WHEN synthesized THEN the data stack holds the instance's identifier, host and owner secret", () => {
    const { data } = platform('dev');
    const t = template(data);
    const instance = resourcesOf(t, 'AWS::RDS::DBInstance')[0]![0];
    const expected: Record<string, Json> = {
      'instance-id': { Ref: instance },
      host: { 'Fn::GetAtt': [instance, 'Endpoint.Address'] },
      'master-secret-arn': { 'Fn::GetAtt': [instance, 'MasterUserSecret.SecretArn'] },
    };
    for (const field of LIVE_DATABASE_FIELDS) {
      t.hasResourceProperties('AWS::SSM::Parameter', {
        Name: liveDatabaseParameter('dev', field),
        Type: 'String',
        Value: expected[field],
      });
    }
  });

  test('the api and migration containers connect to the host the parameter names', () => {
    const t = template(platform('dev').services);
    const host = ssmParameterReading(t, liveDatabaseParameter('dev', 'host'));
    assert.ok(host, 'the services stack reads the host parameter at deployment');
    const withDb = containers(t).filter((c) => c.Environment?.some((e: Json) => e.Name === 'DBHOST'));
    assert.equal(withDb.length >= 2, true, 'api and migration');
    for (const c of withDb) {
      assert.deepEqual(
        c.Environment.find((e: Json) => e.Name === 'DBHOST').Value,
        { Ref: host },
        `${c.Name}: DBHOST comes from the parameter, not from the instance export`,
      );
    }
  });

  test('the migration logs in with the owner secret the parameter names, and its execution role may read that secret', () => {
    const t = template(platform('dev').services);
    const secret = ssmParameterReading(t, liveDatabaseParameter('dev', 'master-secret-arn'));
    assert.ok(secret, 'the services stack reads the owner secret parameter at deployment');
    const migrate = containers(t).find((c) => c.Secrets?.some((s: Json) => s.Name === 'APP_DBPASS'));
    for (const name of ['DBUSER', 'DBPASS']) {
      const valueFrom = JSON.stringify(migrate?.Secrets.find((s: Json) => s.Name === name)?.ValueFrom);
      assert.match(valueFrom, new RegExp(`"Ref":"${secret}"`), `${name} reads the parameter's secret`);
    }
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
            Resource: Match.arrayWith([{ Ref: secret }]),
          }),
        ]),
      },
    });
  });
});

describe('the database alarms follow the live instance', () => {
  test('every database alarm and dashboard metric names the instance the instance-id parameter holds, read at every update', () => {
    const { monitoring } = platform('dev');
    const t = template(monitoring);
    const live = ssmParameterReading(t, liveDatabaseParameter('dev', 'instance-id'));
    assert.ok(
      live,
      'the monitoring stack reads the instance-id parameter at every deployment (an SSM-typed parameter)',
    );
    const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.Namespace === 'AWS/RDS');
    assert.ok(alarms.length >= 5, 'CPU, memory, storage, connections, write latency');
    for (const [id, alarm] of alarms) {
      assert.deepEqual(
        alarm.Properties.Dimensions,
        [{ Name: 'DBInstanceIdentifier', Value: { Ref: live } }],
        `${id} watches the live instance, not the data stack's own`,
      );
    }
    const dashboard = JSON.stringify(
      resourcesOf(t, 'AWS::CloudWatch::Dashboard').find(([, d]) =>
        JSON.stringify(d.Properties.DashboardName).includes('-db'),
      )?.[1].Properties.DashboardBody,
    );
    assert.match(dashboard, new RegExp(`"DBInstanceIdentifier\\\\",\\\\"",\\{"Ref":"${live}"\\}`));
    assert.doesNotMatch(dashboard, /ImportValue/, 'no instance export in the database dashboard');
  });

  test('the monitoring stack deploys after the data stack, which keeps the instance export it imported before', () => {
    const { monitoring, data } = platform('dev');
    assert.ok(monitoring.dependencies.includes(data), 'the parameter exists before the stack that reads it');
    const outputs = (template(data).toJSON().Outputs ?? {}) as Record<string, Json>;
    const instance = resourcesOf(template(data), 'AWS::RDS::DBInstance')[0]![0];
    assert.ok(
      Object.values(outputs).some((o) => o.Export && JSON.stringify(o.Value) === JSON.stringify({ Ref: instance })),
      'a deployed monitoring stack still imports it until its next update',
    );
  });
});
