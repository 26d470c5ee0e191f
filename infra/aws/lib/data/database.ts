// The PostgreSQL 17 database: encrypted, TLS-only, RDS-rotated credentials, isolated subnets.
// No read replica: RDS cannot create one from an instance whose master password it manages in Secrets Manager
// ("Limitations for Secrets Manager integration with Amazon RDS", RDS User Guide); see infra/aws/README.md.
import { Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge, guard } from '../shared/acknowledge.js';
import { DATA_DEFAULTS } from './defaults.js';

export interface DatabaseProps {
  readonly vpc: ec2.IVpc;
  /** Security group of the instance; its ingress (api tasks only) is defined by the network stack. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** Security group of the API user's rotation function; the network stack lets it reach the instance. */
  readonly rotationSecurityGroup: ec2.ISecurityGroup;
  /** Key for storage, Performance Insights, the credentials secret and the exported logs. */
  readonly key: kms.IKey;
  /** Stable instance identifier; also names the exported log groups. */
  readonly instanceIdentifier: string;
  /** RDS instance class without `db.`. @default 't4g.micro' */
  readonly instanceType?: string;
  /** Keep a standby in a second AZ. @default false */
  readonly multiAz?: boolean;
  /** @default 20 */
  readonly allocatedStorageGiB?: number;
  /** Storage autoscaling ceiling. @default 100 */
  readonly maxAllocatedStorageGiB?: number;
  /** Automated backups (point-in-time recovery) retention, 1-35 days. @default 7 */
  readonly backupRetentionDays?: number;
  /** Allow IAM database authentication. @default false */
  readonly iamAuthentication?: boolean;
  /** Retention of the exported PostgreSQL logs. @default 365 */
  readonly logRetentionDays?: number;
}

export class Database extends Construct {
  readonly instance: rds.DatabaseInstance;
  /** The RDS-managed master secret (JSON: username, password), rotated by RDS; migrations only. */
  readonly secret: secretsmanager.ISecret;
  /** The API user's secret (JSON: username, password, host, ...), rotated alternating two users. */
  readonly apiUserSecret: secretsmanager.ISecret;
  /** Name of the instance's DB subnet group (isolated subnets); restores land in it too. */
  readonly subnetGroupName: string;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const backupRetentionDays = props.backupRetentionDays ?? 7;
    if (backupRetentionDays < 1 || backupRetentionDays > 35) {
      throw new Error(
        `backupRetentionDays must be 1-35 (0 would disable point-in-time recovery), got ${backupRetentionDays}.`,
      );
    }
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(props.instanceIdentifier)) {
      throw new Error(
        `instanceIdentifier "${props.instanceIdentifier}" must be lower-case letters, digits and dashes.`,
      );
    }
    const engine = rds.DatabaseInstanceEngine.postgres({ version: DATA_DEFAULTS.engineVersion });

    // TLS only, and slow queries in the exported log.
    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'tier PostgreSQL 17: TLS required',
      parameters: {
        'rds.force_ssl': '1',
        log_min_duration_statement: String(DATA_DEFAULTS.logMinDurationStatementMs),
        log_connections: '1',
        log_disconnections: '1',
      },
    });

    // Exported log groups exist before the instance so they carry retention and encryption (no LogRetention Lambda).
    const exportedLogs = DATA_DEFAULTS.logExports.map(
      (name) =>
        new logs.LogGroup(this, `${name}Logs`, {
          logGroupName: `/aws/rds/instance/${props.instanceIdentifier}/${name}`,
          retention: (props.logRetentionDays ?? 365) as logs.RetentionDays,
          encryptionKey: props.key,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
    );

    const monitoringRole = new iam.Role(this, 'MonitoringRole', {
      assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonRDSEnhancedMonitoringRole')],
    });
    acknowledge(
      monitoringRole,
      'AmazonRDSEnhancedMonitoringRole is the AWS-maintained policy for RDS enhanced monitoring (logs:PutLogEvents to RDSOSMetrics only).',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
    );

    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      instanceIdentifier: props.instanceIdentifier,
      engine,
      instanceType: new ec2.InstanceType(props.instanceType ?? 't4g.micro'),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [props.securityGroup],
      publiclyAccessible: false,
      port: DATA_DEFAULTS.port,
      multiAz: props.multiAz ?? false,
      databaseName: DATA_DEFAULTS.databaseName,
      // RDS generates the password into Secrets Manager (encrypted with the key) and rotates it itself
      // (every 7 days by default): no rotation Lambda, no extra path into the database security group.
      manageMasterUserPassword: true,
      credentials: rds.Credentials.fromUsername(DATA_DEFAULTS.masterUsername, { encryptionKey: props.key }),
      parameterGroup,
      storageType: rds.StorageType.GP3,
      allocatedStorage: props.allocatedStorageGiB ?? 20,
      maxAllocatedStorage: props.maxAllocatedStorageGiB ?? 100,
      storageEncrypted: true,
      storageEncryptionKey: props.key,
      iamAuthentication: props.iamAuthentication ?? false,
      backupRetention: Duration.days(backupRetentionDays),
      preferredBackupWindow: DATA_DEFAULTS.backupWindow,
      preferredMaintenanceWindow: DATA_DEFAULTS.maintenanceWindow,
      copyTagsToSnapshot: true,
      deleteAutomatedBackups: false,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      autoMinorVersionUpgrade: true,
      enablePerformanceInsights: true,
      performanceInsightEncryptionKey: props.key,
      performanceInsightRetention: DATA_DEFAULTS.performanceInsightRetentionDays,
      cloudwatchLogsExports: [...DATA_DEFAULTS.logExports],
      monitoringInterval: Duration.seconds(DATA_DEFAULTS.monitoringIntervalSeconds),
      monitoringRole,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
    });
    for (const group of exportedLogs) this.instance.node.addDependency(group);
    Tags.of(this.instance).add(DATA_DEFAULTS.backupTag.key, DATA_DEFAULTS.backupTag.value);
    acknowledge(
      this.instance,
      'PostgreSQL listens on 5432 as the conventions (DBPORT) fix; only the api tasks security group can reach it, in isolated subnets.',
      'AwsSolutions-RDS11',
    );
    acknowledge(
      this.instance,
      'Default PostgreSQL port kept on purpose (conventions.md DBPORT); reachability is limited by the security group, not by obscurity.',
      guard('rds_instance_no_default_ports_check'),
    );
    acknowledge(
      this.instance,
      'The database is selected by AWS Backup through its backup=daily tag (data/backup.ts), which the rule cannot see.',
      'NIST.800.53.R5-RDSInBackupPlan',
    );
    if (!(props.multiAz ?? false)) {
      acknowledge(
        this.instance,
        'Single-AZ by stage configuration (dev: cost); prod sets multiAz: true. Restores come from automated backups and AWS Backup.',
        'NIST.800.53.R5-RDSMultiAZSupport',
        'AwsSolutions-RDS3',
        guard('rds_instance_multi_az_support_check'),
      );
    }
    if (!(props.iamAuthentication ?? false)) {
      acknowledge(
        this.instance,
        'IAM database authentication is switched off by stage configuration; the password comes from the RDS-managed, rotated secret.',
        guard('rds_instance_iam_authentication_enabled_check'),
      );
    }

    const subnetGroup = this.instance.node.tryFindChild('SubnetGroup') as rds.ISubnetGroup | undefined;
    if (!subnetGroup) throw new Error('the database instance created no subnet group; restores need one to land in.');
    this.subnetGroupName = subnetGroup.subnetGroupName;

    if (!this.instance.secret)
      throw new Error('RDS did not expose the managed master secret; check manageMasterUserPassword.');
    this.secret = this.instance.secret;

    // The API's own user (created by the migrate job from this secret). Alternating-users rotation:
    // the user not in use gets the new password, then the secret names it, so the credentials a task
    // holds keep working until the rotation after next; the API reads the secret per new connection.
    const apiUserSecret = new rds.DatabaseSecret(this, 'ApiUserSecret', {
      username: DATA_DEFAULTS.apiUsername,
      masterSecret: this.secret,
      encryptionKey: props.key,
    });
    this.apiUserSecret = apiUserSecret.attach(this.instance);
    this.apiUserSecret.addRotationSchedule('ApiUserRotation', {
      automaticallyAfter: Duration.days(DATA_DEFAULTS.apiUserRotationDays),
      hostedRotation: secretsmanager.HostedRotation.postgreSqlMultiUser({
        masterSecret: this.secret,
        vpc: props.vpc,
        // Reaches Secrets Manager through NAT; the isolated subnets have no route to it.
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        securityGroups: [props.rotationSecurityGroup],
      }),
    });
  }
}
