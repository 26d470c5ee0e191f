// Turns AWS SDK failures into TierErrors that say what failed and what to do next.
import { TierError } from '../backend.js';

export const DOCS = 'packages/tier/README-aws.md';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
}

const CREDENTIALS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
]);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError']);
const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);
const NETWORK = new Set(['ENOTFOUND', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'TimeoutError']);

/**
 * Maps an SDK error raised by `action` (IAM spelling, e.g. `ecs:UpdateService`) to a TierError.
 * Specific service errors (missing service, DB in the wrong state...) come first, then the
 * families every call shares: credentials, permissions, throttling, region, network.
 */
export function toTierError(err: unknown, action: string): TierError {
  if (err instanceof TierError) return err;
  const e = (err ?? {}) as SdkError;
  const name = e.name ?? e.Code ?? e.code ?? 'Error';
  const message = e.message ?? String(err);
  const code = e.code ?? name;

  if (CREDENTIALS.has(name) || /could not load credentials|token.*expired|expired.*token/i.test(message)) {
    return new TierError(
      `AWS credentials are missing or expired (${action}: ${name})`,
      'run `aws sso login` (or export AWS_PROFILE / fresh AWS_* keys) and retry',
    );
  }
  if (DENIED.has(name) || /not authorized to perform/i.test(message)) {
    return new TierError(
      `AWS denied ${action}: ${message}`,
      `grant ${action} to your role (every permission tier needs is listed in ${DOCS})`,
    );
  }
  if (/region is missing/i.test(message)) {
    return new TierError('no AWS region configured', 'pass --region, or set AWS_REGION / a region in your AWS profile');
  }
  if (THROTTLED.has(name)) {
    return new TierError(`AWS throttled ${action} after retries`, 'wait a minute and run the command again');
  }
  if (NETWORK.has(code) || NETWORK.has(name)) {
    return new TierError(
      `cannot reach AWS for ${action} (${code})`,
      'check the network, proxy (HTTPS_PROXY) and region, then retry',
    );
  }
  switch (name) {
    case 'ClusterNotFoundException':
    case 'ServiceNotFoundException':
    case 'ServiceNotActiveException':
      return new TierError(
        `ECS reports ${name} for ${action}: ${message}`,
        'the stack outputs name a cluster/service that is gone: redeploy the stacks (cdk deploy) or check --stage/--region',
      );
    case 'DBInstanceNotFound':
    case 'DBInstanceNotFoundFault':
      return new TierError(
        `the database instance does not exist (${action})`,
        'check --stage/--region; the DbInstanceId stack output may be stale: redeploy the data stack',
      );
    case 'InvalidDBInstanceState':
    case 'InvalidDBInstanceStateFault':
      return new TierError(
        `the database is not in a state that allows ${action}: ${message}`,
        'see its state with `tier status --target aws`; wait until it is available (or stopped) and retry',
      );
    case 'DBInstanceAlreadyExists':
    case 'DBInstanceAlreadyExistsFault':
      return new TierError(
        `a database instance with that name already exists (${action})`,
        'a restore was started moments ago: wait a minute and retry, or delete the old restored copy',
      );
    case 'PointInTimeRestoreNotEnabled':
    case 'PointInTimeRestoreNotEnabledFault':
    case 'InvalidRestore':
    case 'InvalidRestoreFault':
      return new TierError(
        `RDS cannot restore to that point (${action}): ${message}`,
        'pick a time inside the restore window (automated backup retention), or use --latest',
      );
    case 'ResourceNotFoundException':
      return new TierError(
        `AWS could not find a resource for ${action}: ${message}`,
        'the stack outputs may be stale: redeploy the stacks (cdk deploy) or check --stage/--region',
      );
    case 'InvalidParameterException':
    case 'InvalidParameterValueException':
    case 'InvalidParameterValue':
    case 'ValidationException':
    case 'ValidationError':
    case 'InvalidParameterCombination':
      return new TierError(`AWS rejected ${action}: ${message}`, 'check the value given on the command line and retry');
  }
  return new TierError(
    `AWS ${action} failed: ${name}: ${message}`,
    'rerun with TIER_DEBUG=1; check the AWS console for the resource',
  );
}

/** Runs one SDK call; any failure becomes a TierError naming the IAM action. */
export async function callAws<T>(action: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    const mapped = toTierError(err, action);
    if (process.env.TIER_DEBUG) console.error(err);
    throw mapped;
  }
}
