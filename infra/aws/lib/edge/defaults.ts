// Every value the edge (CloudFront, WAF) chooses by itself, in one place.
import { Duration } from 'aws-cdk-lib';

export const EDGE_DEFAULTS = {
  /** Fingerprinted, immutable assets of the web tier. */
  longCachePaths: ['/stylesheets/*', '/images/*', '/assets/*'],
  longCacheTtl: Duration.days(365),
  /** HTML: the origin's Cache-Control decides, capped at a minute. */
  pageMaxTtl: Duration.seconds(60),
  apiPathPattern: '/api/*',
  /** AWS managed rule groups, evaluated in this order after the rate limit. */
  managedRuleGroups: [
    'AWSManagedRulesAmazonIpReputationList',
    'AWSManagedRulesCommonRuleSet',
    'AWSManagedRulesKnownBadInputsRuleSet',
    'AWSManagedRulesSQLiRuleSet',
  ],
} as const;
