// ci:audit — `npm audit --omit=dev` gated by audit-allowlist.json: unlisted high/critical findings and expired entries fail.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type AuditVerdict, evaluateAudit, type Severity } from './lib/audit-policy.js';
import { main, reportError } from './lib/github.js';

await main(async () => {
  const { values } = parseArgs({
    options: {
      report: { type: 'string' },
      allowlist: { type: 'string', default: 'audit-allowlist.json' },
      level: { type: 'string', default: 'high' },
      today: { type: 'string' },
    },
  });
  if (!['low', 'moderate', 'high', 'critical'].includes(values.level!)) {
    throw Object.assign(new Error(`--level '${values.level}' is not low, moderate, high or critical`), {
      hint: 'use --level high',
    });
  }
  const report = values.report ? JSON.parse(await readFile(values.report, 'utf8')) : await npmAudit();
  const allowList = await readFile(values.allowlist!, 'utf8').catch(() => '{"entries": []}');
  const today = values.today ?? new Date().toISOString().slice(0, 10);
  const verdict = evaluateAudit(report, allowList, today, values.level as Severity);
  print(verdict);
  return verdict.ok ? 0 : 1;
});

/** npm exits non-zero whenever it finds anything; the JSON on stdout is what counts. */
function npmAudit(): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile('npm', ['audit', '--omit=dev', '--json'], { maxBuffer: 64 << 20 }, (err, stdout) => {
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`npm audit printed no JSON${err ? `: ${err.message.split('\n')[0]}` : ''}`));
      }
    });
  });
}

function print(v: AuditVerdict): void {
  const c = v.counts;
  console.log(
    `npm audit (production dependencies): ${c.critical} critical, ${c.high} high, ${c.moderate} moderate, ${c.low} low`,
  );
  for (const { finding, entry } of v.allowed) {
    console.log(
      `  allowed  ${finding.severity.padEnd(8)} ${finding.id} ${finding.package}: until ${entry.expires} (${entry.reason})`,
    );
  }
  for (const e of v.stale)
    console.log(`  stale    ${e.id}: matches no finding any more; remove it from audit-allowlist.json`);
  for (const f of v.blocking)
    reportError(`${f.severity} ${f.id} in ${f.package}: ${f.title} ${f.url}`, 'audit-allowlist.json');
  for (const p of v.policyErrors) reportError(p, 'audit-allowlist.json');
  console.log(
    v.ok
      ? '✔ audit passed'
      : `✖ audit failed: ${v.blocking.length} unlisted finding(s), ${v.policyErrors.length} allow-list problem(s)\n  next: upgrade the dependency (npm audit fix / npm update <pkg>), or add a reviewed entry {id, reason, expires} to audit-allowlist.json`,
  );
}
