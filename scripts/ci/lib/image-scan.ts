// Reads grype's JSON report of an image SBOM as gate findings (the policy is audit-policy.ts, shared with npm audit).
import type { Finding, Severity } from './audit-policy.js';

/** grype's severities (its JSON `vulnerability.severity`) on the npm audit scale the policy speaks. */
const SEVERITY: Readonly<Record<string, Severity>> = {
  Critical: 'critical',
  High: 'high',
  Medium: 'moderate',
  Low: 'low',
  Negligible: 'info',
  Unknown: 'info',
};

interface GrypeReport {
  matches?: Array<{
    vulnerability?: {
      id?: string;
      severity?: string;
      dataSource?: string;
      urls?: string[];
      fix?: { versions?: string[]; state?: string };
    };
    relatedVulnerabilities?: Array<{ id?: string }>;
    artifact?: { name?: string; version?: string; type?: string };
  }>;
  source?: { type?: string; target?: { manifestDigest?: string } };
}

/**
 * One finding per vulnerability and package of `image` (named in each title). With `digest`, the report must be of that
 * manifest digest: grype keeps the one the SBOM names, so a report of another image cannot pass for this one.
 */
export function grypeFindings(report: unknown, image: string, digest?: string): Finding[] {
  const r = report as GrypeReport;
  if (!r || typeof r !== 'object' || !Array.isArray(r.matches)) {
    throw Object.assign(new Error(`grype gave no report for ${image} (no "matches" array)`), {
      hint: 'run grype with -o json; or pass --report <saved grype -o json>',
    });
  }
  const scanned = r.source?.target?.manifestDigest;
  if (digest && scanned !== digest) {
    throw Object.assign(new Error(`the grype report for ${image} is of ${scanned ?? 'no digest'}, not of ${digest}`), {
      hint: 'scan the SBOM ci:sbom wrote for this digest',
    });
  }
  const found = new Map<string, Finding>();
  for (const m of r.matches) {
    const v = m.vulnerability ?? {};
    const a = m.artifact ?? {};
    const id = v.id ?? 'unknown';
    const fixed = v.fix?.state === 'fixed' && v.fix.versions?.length ? `, fixed in ${v.fix.versions.join(', ')}` : '';
    const finding: Finding = {
      id,
      aliases: (m.relatedVulnerabilities ?? []).map((x) => x.id ?? '').filter((x) => x && x !== id),
      package: a.name ?? 'unknown',
      severity: SEVERITY[v.severity ?? ''] ?? 'info',
      title: `[${image}] ${a.name} ${a.version ?? ''} (${a.type ?? 'package'})${fixed}`,
      url: v.dataSource || v.urls?.[0] || '',
    };
    found.set(`${id}@${finding.package}@${a.version}`, finding);
  }
  return [...found.values()];
}
