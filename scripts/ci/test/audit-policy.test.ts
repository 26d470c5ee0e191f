// The audit gate: unlisted high/critical findings fail, reviewed entries allow until they expire, bad entries fail.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateAudit, findingsOf, parseAllowList } from '../lib/audit-policy.js';

const TODAY = '2026-06-01';
const report = {
  auditReportVersion: 2,
  vulnerabilities: {
    semver: {
      name: 'semver',
      severity: 'high',
      via: [
        {
          source: 1101088,
          name: 'semver',
          title: 'semver vulnerable to Regular Expression Denial of Service',
          url: 'https://github.com/advisories/GHSA-c2qf-rxjj-qqgw',
          severity: 'high',
        },
      ],
    },
    'some-parent': { name: 'some-parent', severity: 'high', via: ['semver'] },
    tar: {
      name: 'tar',
      severity: 'moderate',
      via: [
        {
          source: 1,
          name: 'tar',
          title: 'tar moderate',
          url: 'https://github.com/advisories/GHSA-f5x3-32g6-xq36',
          severity: 'moderate',
        },
      ],
    },
  },
};
const allow = (entries: unknown[]) => JSON.stringify({ entries });
const SEMVER = {
  id: 'GHSA-c2qf-rxjj-qqgw',
  reason: 'only parses our own constant ranges, never user input',
  expires: '2026-07-01',
};

describe('dependency audit policy', () => {
  it('flattens npm audit JSON into one finding per advisory (not per dependent)', () => {
    const findings = findingsOf(report);
    assert.deepEqual(findings.map((f) => `${f.id} ${f.package} ${f.severity}`).sort(), [
      'GHSA-c2qf-rxjj-qqgw semver high',
      'GHSA-f5x3-32g6-xq36 tar moderate',
    ]);
  });

  it('fails on an unlisted high finding and ignores moderate ones', () => {
    const v = evaluateAudit(report, allow([]), TODAY);
    assert.equal(v.ok, false);
    assert.deepEqual(
      v.blocking.map((f) => f.id),
      ['GHSA-c2qf-rxjj-qqgw'],
    );
  });

  it('passes when a reviewed, unexpired entry covers it (by GHSA or npm id, optionally per package)', () => {
    assert.equal(evaluateAudit(report, allow([SEMVER]), TODAY).ok, true);
    assert.equal(evaluateAudit(report, allow([{ ...SEMVER, id: '1101088' }]), TODAY).ok, true);
    assert.equal(evaluateAudit(report, allow([{ ...SEMVER, package: 'other' }]), TODAY).ok, false);
  });

  it('fails on an expired entry even though it matches', () => {
    const v = evaluateAudit(report, allow([{ ...SEMVER, expires: '2026-05-31' }]), TODAY);
    assert.equal(v.ok, false);
    assert.match(v.policyErrors[0]!, /expired on 2026-05-31/);
  });

  it('rejects entries without a reason, with a bad id or date, or expiring too far ahead', () => {
    const { errors } = parseAllowList(
      allow([
        { id: 'CVE-2024-1', reason: 'a good enough reason here', expires: '2026-07-01' },
        { id: 'GHSA-c2qf-rxjj-qqgw', reason: 'ok', expires: '2026-07-01' },
        { id: 'GHSA-c2qf-rxjj-qqgw', reason: 'a good enough reason here', expires: 'next week' },
        { id: 'GHSA-c2qf-rxjj-qqgw', reason: 'a good enough reason here', expires: '2027-06-01' },
      ]),
      TODAY,
    );
    assert.equal(errors.length, 4);
    assert.match(errors.join('\n'), /"id"[\s\S]*"reason"[\s\S]*"expires" must be a date[\s\S]*more than 90 days/);
    assert.match(parseAllowList('{ nope', TODAY).errors[0]!, /not JSON/);
  });

  it('lists entries that match nothing as stale (a warning, not a failure)', () => {
    const v = evaluateAudit({ vulnerabilities: {} }, allow([SEMVER]), TODAY);
    assert.equal(v.ok, true);
    assert.equal(v.stale.length, 1);
  });

  it('an npm error instead of a report fails with the next step', () => {
    assert.throws(() => findingsOf({ message: '405 Method Not Allowed' }), /npm audit gave no report: 405/);
  });
});
