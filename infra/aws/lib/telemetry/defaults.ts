// Every value the telemetry stack chooses by itself, in one place.
export const TELEMETRY_DEFAULTS = {
  /** Log groups the tiers and operators write to (one per tier, plus migrations, the admin task and the pre-traffic smoke test). */
  logStreams: ['web', 'api', 'migrate', 'exec', 'smoke-test'] as const,
  /** S3 prefixes of the access logs, one per source. */
  albLogPrefix: 'alb',
  cloudFrontLogPrefix: 'cloudfront',
} as const;
