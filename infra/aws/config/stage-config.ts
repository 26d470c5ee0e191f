// Typed per-stage configuration of the AWS app: every account- or stage-specific value lives here, never in lib/.

/** Where the service images come from. */
export type ImageSource =
  /** ECR repositories created by the registry stack, fed by the pipeline; tasks run `<repo>:<tag>` (immutable tags). */
  | { readonly kind: 'ecr'; readonly tag: string }
  /** `ContainerImage.fromAsset` on apps/<tier>/Dockerfile (build context = repository root); for a laptop deploy. */
  | { readonly kind: 'asset' };

export interface TierSizing {
  /** vCPU units (1024 = 1 vCPU). */
  readonly cpu: number;
  /** Memory in MiB. */
  readonly memoryMiB: number;
  /** Lower autoscaling bound and initial desired count; at least 2 so a task can be replaced without an outage. */
  readonly minTasks: number;
  /** Upper autoscaling bound. */
  readonly maxTasks: number;
}

export interface StageConfig {
  /** Short stage name; prefixes every stack (`tier-<stage>-...`). */
  readonly stage: 'dev' | 'prod';
  /** Target AWS account (12 digits). */
  readonly account: string;
  /** Region of every stack except the WAF web ACL (CLOUDFRONT scope lives in us-east-1). */
  readonly region: string;
  /** Number of availability zones; the zones themselves come from cdk.json context (no lookup). */
  readonly maxAzs: number;
  /** NAT gateways: one per AZ in prod (no cross-AZ dependency), one in dev (cost). */
  readonly natGateways: number;
  /** VPC CIDR. */
  readonly vpcCidr: string;
  readonly database: {
    /** RDS instance class, e.g. `t4g.medium` (without the `db.` prefix). */
    readonly instanceType: string;
    readonly multiAz: boolean;
    readonly allocatedStorageGiB: number;
    readonly maxAllocatedStorageGiB: number;
    /** Automated backup (point-in-time recovery) retention in days, 1-35. */
    readonly backupRetentionDays: number;
    /** Allow IAM database authentication in addition to the password. */
    readonly iamAuthentication: boolean;
  };
  readonly backup: {
    /** Days a daily recovery point is kept. */
    readonly dailyRetentionDays: number;
    /** Weeks a weekly recovery point is kept. */
    readonly weeklyRetentionWeeks: number;
    /** Months a monthly recovery point is kept. */
    readonly monthlyRetentionMonths: number;
    /**
     * ARN of the vault in another region (same account) that receives a copy of every daily recovery point; the
     * `backup-copy` stack creates it there, named as the ARN says. Omit for no copy.
     */
    readonly copyToVaultArn?: string;
    /**
     * AWS Backup Vault Lock on the stage's vaults. `compliance`: immutable 3 days after deployment (nobody, root
     * included, can delete recovery points early or remove the lock); `governance`: users with the IAM permission can
     * still remove it. Minimum retention = dailyRetentionDays. @default none
     */
    readonly vaultLock?: 'governance' | 'compliance';
  };
  readonly services: {
    readonly web: TierSizing;
    readonly api: TierSizing;
    /** Target average CPU utilisation (%) for autoscaling. */
    readonly cpuTargetPercent: number;
    /** Target ALB requests per task per minute for autoscaling. */
    readonly requestsPerTarget: number;
    readonly image: ImageSource;
  };
  readonly edge: {
    /** Requests per 5 minutes per client IP before the WAF rate rule blocks. */
    readonly rateLimitPer5Min: number;
    /** CloudFront price class: `PriceClass_100` (NA+EU), `PriceClass_200`, `PriceClass_All`. */
    readonly priceClass: 'PriceClass_100' | 'PriceClass_200' | 'PriceClass_All';
    /**
     * Id of the managed prefix list `com.amazonaws.global.cloudfront.origin-facing` in `region` (it differs per
     * region; kept here so synthesis makes no lookup).
     */
    readonly originFacingPrefixListId: string;
  };
  readonly observability: {
    /** Retention of application, exec and flow logs, in days (a value CloudWatch Logs accepts). */
    readonly logRetentionDays: number;
    /** Days access logs (ALB, CloudFront) are kept in S3. */
    readonly accessLogRetentionDays: number;
    /** Address that receives alarm e-mails (confirm the SNS subscription once). */
    readonly alarmEmail: string;
  };
  /**
   * Who may assume the stage's operator role `tier-<stage>-operator` (the `tier` commands an operator runs against
   * AWS: status, scale, stop/start, deploy/rollback, backup, restore, logs, metrics, the admin task). @default the
   * stage account's IAM principals whose own policy allows `sts:AssumeRole` on it, with MFA.
   */
  readonly operator?: {
    /**
     * Principals the role trusts: an account root (`arn:aws:iam::<account>:root`: any IAM user or role of that account
     * its administrators allow) or role ARNs, such as the role of an IAM Identity Center permission set
     * (`arn:aws:iam::<account>:role/aws-reserved/sso.amazonaws.com/<region>/AWSReservedSSO_<set>_<id>`).
     * @default [`arn:aws:iam::<account>:root`]
     */
    readonly trustedPrincipals?: readonly string[];
    /**
     * Refuse sessions without MFA (`aws:MultiFactorAuthPresent`). IAM Identity Center signs users in with MFA but its
     * role sessions carry no such key: set false only when every trusted principal is such a role. @default true
     */
    readonly requireMfa?: boolean;
  };
  readonly pipeline: {
    /** GitHub repository allowed to deploy, `owner/name`. */
    readonly githubRepo: string;
    /**
     * The GitHub environment whose jobs act on this stage (`environment: <name>` in .github/workflows/main.yml).
     * The pipeline role trusts exactly `repo:<githubRepo>:environment:<name>`; restrict the environment to `main`
     * in GitHub (deployment branches), since the subject of an environment job does not carry the branch.
     */
    readonly githubEnvironment: string;
    /**
     * Qualifier of this stage's own CDK bootstrap (`cdk bootstrap --qualifier <q>`), so the stage's bootstrap roles
     * (`cdk-<q>-deploy-role-<account>-<region>`, ...) are not shared with another stage in the same account and region.
     * 1-10 lowercase letters or digits.
     */
    readonly bootstrapQualifier: string;
    /**
     * Stage whose tested images are promoted into this stage (copied by digest from its ECR repositories, possibly in
     * another region). The pipeline role may then read, never write, exactly that stage's repositories. @default none
     */
    readonly promoteFrom?: 'dev' | 'prod';
    /** ARN of an existing GitHub OIDC provider in the account (one per account); omit to create it. */
    readonly existingOidcProviderArn?: string;
  };
}
