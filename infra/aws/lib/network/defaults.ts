// Every value the network stack chooses by itself, in one place.
export const NETWORK_DEFAULTS = {
  /** Subnet sizes: small public (ALBs, NAT), large private (tasks), small isolated (databases). */
  publicCidrMask: 24,
  privateCidrMask: 20,
  isolatedCidrMask: 24,
  /** Ports from docs/conventions.md. */
  appPort: 3000,
  adminPort: 9100,
  databasePort: 5432,
  /** Port the ALBs listen on for CloudFront (no origin certificate without a domain; see README). */
  albListenerPort: 80,
  /** Test listener of each ALB: ECS points it at a new version's tasks for the pre-traffic smoke test. */
  albTestListenerPort: 8080,
} as const;
