// The vulnerability gates' policy: findings at high/critical fail unless a reviewed, unexpired allow-list entry covers
// them. One policy for both gates: npm audit (audit-allowlist.json) and the image scan (image-allowlist.json).
import { reportError } from './github.js';

export type Severity = 'info' | 'low' | 'moderate' | 'high' | 'critical';
const RANK: Record<Severity, number> = { info: 0, low: 1, moderate: 2, high: 3, critical: 4 };

export interface AllowEntry {
  /** CVE id, GitHub advisory id (GHSA-xxxx-xxxx-xxxx) or npm's numeric advisory id. */
  readonly id: string;
  /** Optional: restrict the exception to one package. */
  readonly package?: string;
  /** Why shipping with it is acceptable (not reachable, no fix yet, ...). */
  readonly reason: string;
  /** YYYY-MM-DD: after this day the entry no longer counts and the gate fails until it is reviewed again. */
  readonly expires: string;
  readonly reviewedBy?: string;
}

export interface Finding {
  readonly id: string;
  /** Other ids of the same vulnerability (npm's numeric advisory id, the CVE of a GHSA): an entry may name any. */
  readonly aliases: readonly string[];
  readonly package: string;
  readonly severity: Severity;
  readonly title: string;
  readonly url: string;
}

export interface AuditVerdict {
  readonly ok: boolean;
  /** High/critical findings that no valid entry covers. */
  readonly blocking: Finding[];
  readonly allowed: Array<{ finding: Finding; entry: AllowEntry }>;
  /** Problems with the allow-list file itself (malformed or expired entries): each one fails the gate. */
  readonly policyErrors: string[];
  /** Entries that match nothing any more: remove them (a warning, not a failure). */
  readonly stale: AllowEntry[];
  readonly counts: Record<Severity, number>;
}

const ID = /^(GHSA(-[23456789cfghjmpqrvwx]{4}){3}|CVE-\d{4}-\d{4,}|\d+)$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** Exceptions are short-lived by policy: at most this far ahead, so each one is reviewed again. */
export const MAX_EXCEPTION_DAYS = 90;

/** Parses an allow-list (`{ "entries": [...] }`), collecting every problem instead of stopping at the first. */
export function parseAllowList(
  text: string,
  today: string,
  file = 'audit-allowlist.json',
): { entries: AllowEntry[]; errors: string[] } {
  const errors: string[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { entries: [], errors: [`${file} is not JSON: ${(err as Error).message}`] };
  }
  const list = (doc as { entries?: unknown })?.entries;
  if (!Array.isArray(list)) return { entries: [], errors: [`${file} needs an "entries" array`] };
  const entries: AllowEntry[] = [];
  list.forEach((raw, i) => {
    const e = raw as Partial<AllowEntry>;
    const where = `entry ${i + 1}${typeof e.id === 'string' ? ` (${e.id})` : ''}`;
    const problems: string[] = [];
    if (typeof e.id !== 'string' || !ID.test(e.id))
      problems.push('"id" must be a CVE id, a GHSA id or a numeric npm advisory id');
    if (typeof e.reason !== 'string' || e.reason.trim().length < 15)
      problems.push('"reason" must explain the exception (15+ characters)');
    if (typeof e.expires !== 'string' || !DAY.test(e.expires) || Number.isNaN(Date.parse(e.expires))) {
      problems.push('"expires" must be a date, YYYY-MM-DD');
    } else if (e.expires < today) {
      problems.push(`expired on ${e.expires}: review it (renew with a new date or remove it)`);
    } else if (daysBetween(today, e.expires) > MAX_EXCEPTION_DAYS) {
      problems.push(`"expires" is more than ${MAX_EXCEPTION_DAYS} days ahead (policy): pick an earlier review date`);
    }
    if (e.package !== undefined && typeof e.package !== 'string') problems.push('"package" must be a package name');
    if (problems.length) errors.push(...problems.map((p) => `${where}: ${p}`));
    else entries.push(e as AllowEntry);
  });
  return { entries, errors };
}

/** Flattens `npm audit --json` (report version 2) into one finding per advisory and package. */
export function findingsOf(report: unknown): Finding[] {
  const r = report as { error?: { summary?: string }; message?: string; vulnerabilities?: Record<string, unknown> };
  if (!r || typeof r !== 'object' || (!r.vulnerabilities && (r.error || r.message))) {
    throw Object.assign(
      new Error(`npm audit gave no report: ${r?.message ?? r?.error?.summary ?? 'unreadable output'}`),
      {
        hint: 'the registry audit endpoint must be reachable (it is on GitHub runners); or pass --report <saved npm audit --json>',
      },
    );
  }
  const found = new Map<string, Finding>();
  for (const vuln of Object.values(r.vulnerabilities ?? {})) {
    for (const via of (vuln as { via?: unknown[] }).via ?? []) {
      if (typeof via !== 'object' || via === null) continue; // a string: reached through another package's advisory
      const v = via as { source?: number; name?: string; title?: string; url?: string; severity?: Severity };
      const ghsa = /GHSA(-[a-z0-9]{4}){3}/i.exec(v.url ?? '')?.[0];
      const id = ghsa ?? String(v.source ?? v.url ?? v.title);
      const finding: Finding = {
        id,
        aliases: v.source === undefined ? [] : [String(v.source)],
        package: v.name ?? 'unknown',
        severity: v.severity ?? 'info',
        title: v.title ?? '',
        url: v.url ?? '',
      };
      found.set(`${id}@${finding.package}`, finding);
    }
  }
  return [...found.values()];
}

/** The npm audit gate: `npm audit --json` against audit-allowlist.json. */
export function evaluateAudit(
  report: unknown,
  allowListText: string,
  today: string,
  threshold: Severity = 'high',
): AuditVerdict {
  return evaluateFindings(findingsOf(report), allowListText, today, { threshold });
}

/** Any gate: its findings against its allow-list. */
export function evaluateFindings(
  findings: readonly Finding[],
  allowListText: string,
  today: string,
  opts: { threshold?: Severity; file?: string } = {},
): AuditVerdict {
  const threshold = opts.threshold ?? 'high';
  const { entries, errors } = parseAllowList(allowListText, today, opts.file);
  const counts = { info: 0, low: 0, moderate: 0, high: 0, critical: 0 } as Record<Severity, number>;
  for (const f of findings) counts[f.severity]++;
  const covers = (e: AllowEntry, f: Finding) =>
    (e.id === f.id || f.aliases.includes(e.id)) && (e.package === undefined || e.package === f.package);
  const blocking: Finding[] = [];
  const allowed: AuditVerdict['allowed'] = [];
  for (const f of findings.filter((x) => RANK[x.severity] >= RANK[threshold])) {
    const entry = entries.find((e) => covers(e, f));
    if (entry) allowed.push({ finding: f, entry });
    else blocking.push(f);
  }
  const stale = entries.filter((e) => !findings.some((f) => covers(e, f)));
  return { ok: blocking.length === 0 && errors.length === 0, blocking, allowed, policyErrors: errors, stale, counts };
}

/** Prints a verdict: the counts, what the allow-list allowed, stale entries, and each failure as an annotation. */
export function printVerdict(v: AuditVerdict, what: { title: string; file: string; next: string }): void {
  const c = v.counts;
  console.log(`${what.title}: ${c.critical} critical, ${c.high} high, ${c.moderate} moderate, ${c.low} low`);
  for (const { finding, entry } of v.allowed) {
    console.log(
      `  allowed  ${finding.severity.padEnd(8)} ${finding.id} ${finding.package}: until ${entry.expires} (${entry.reason})`,
    );
  }
  for (const e of v.stale) console.log(`  stale    ${e.id}: matches no finding any more; remove it from ${what.file}`);
  for (const f of v.blocking) reportError(`${f.severity} ${f.id} in ${f.package}: ${f.title} ${f.url}`, what.file);
  for (const p of v.policyErrors) reportError(p, what.file);
  console.log(
    v.ok
      ? `✔ ${what.title} passed`
      : `✖ ${what.title} failed: ${v.blocking.length} unlisted finding(s), ${v.policyErrors.length} allow-list problem(s)\n  next: ${what.next}, or add a reviewed entry {id, reason, expires} to ${what.file}`,
  );
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000);
}
