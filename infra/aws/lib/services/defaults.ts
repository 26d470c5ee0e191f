// Every value the services stack chooses by itself, in one place (ports and drain time from docs/conventions.md).
import { Duration } from 'aws-cdk-lib';
import { NETWORK_DEFAULTS } from '../network/defaults.js';

export const SERVICE_DEFAULTS = {
  appPort: 3000,
  adminPort: 9100,
  readinessPath: '/readyz',
  livenessPath: '/livez',
  /** The app turns /readyz to 503 for 3 s after SIGTERM; the ALB stops sending after 2 failed checks (2 x 5 s). */
  shutdownDrainMs: 3000,
  deregistrationDelay: Duration.seconds(10),
  healthCheckInterval: Duration.seconds(5),
  healthCheckTimeout: Duration.seconds(4),
  /** SIGKILL 30 s after SIGTERM: far above drain + in-flight requests. */
  stopTimeout: Duration.seconds(30),
  healthCheckGracePeriod: Duration.seconds(30),
  /** Above the ALB idle timeout (60 s) so the ALB never reuses a socket Node closed. */
  keepAliveTimeoutMs: 65000,
  albIdleTimeout: Duration.seconds(60),
  minHealthyPercent: 100,
  maxHealthyPercent: 200,
  /**
   * Progressive delivery (ECS canary): a new version first takes this share of production requests for
   * `canaryBakeTime`, then all of them; the old tasks stay `bakeTime` longer, so a rollback is a traffic switch.
   * The rollback alarms decide on 1-minute datapoints (ALB metrics arrive about a minute late), 2 in a row: the canary
   * bake leaves them time to fire. CloudFormation rejects a canary whose bake times add up to more than 33 hours
   * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-canaryconfiguration.html).
   */
  canaryPercent: 10,
  canaryBakeTime: Duration.minutes(5),
  bakeTime: Duration.minutes(5),
  /** Port of each ALB's test listener, which ECS points at the new version for the pre-traffic smoke test. */
  testListenerPort: NETWORK_DEFAULTS.albTestListenerPort,
  /**
   * The rollback judgement, the local canary's rule (packages/tier/src/local/canary.ts): the new version's 5xx rate
   * may exceed the old version's by at most this many points; with no old version serving, its own rate is judged.
   */
  maxErrorRegressionPoints: 2,
  /** The new version's p99 may exceed neither the tier's p99 limit nor this multiple of the old version's p99. */
  maxLatencyRatio: 1.5,
  /** One-minute datapoints in a row that roll a deployment back. */
  rollbackMinutes: 2,
  scaleCooldown: Duration.seconds(60),
  /** Header CloudFront adds and the ALB listener requires. */
  originVerifyHeader: 'X-Origin-Verify',
  logLevel: 'info',
  /**
   * DBSSL for the api and migration tasks (apps/api/src/config.ts accepts off | require | verify-full; the
   * parameter group sets rds.force_ssl=1, so off cannot connect). `require` encrypts but cannot verify the
   * chain: verify-full needs the RDS CA bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)
   * in the image as DBSSL_CA_FILE, because Node's built-in roots do not include the RDS CAs. The image is built
   * offline here (local environment) and a bundle of unknown provenance is not an improvement; to switch, commit
   * the bundle fetched from that URL, COPY it into apps/api/Dockerfile, and set verify-full plus DBSSL_CA_FILE.
   */
  databaseSsl: 'require',
} as const;
