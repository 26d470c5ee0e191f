// ci:audit — `npm audit --omit=dev` gated by audit-allowlist.json: unlisted high/critical findings and expired entries fail.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { evaluateAudit, printVerdict, type Severity } from './lib/audit-policy.js';
import { main } from './lib/github.js';

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
  printVerdict(verdict, {
    title: 'npm audit (production dependencies)',
    file: values.allowlist!,
    next: 'upgrade the dependency (npm audit fix / npm update <pkg>)',
  });
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
