// A small model of how CloudWatch evaluates a metric alarm, so a synthesized AWS::CloudWatch::Alarm can be replayed
// against a synthetic metric series. Modelled from "Using Amazon CloudWatch alarms" and "Configuring how CloudWatch
// alarms treat missing data" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):
// - each metric's raw samples are aggregated per Period with the alarm's statistic (Sum, Average, Minimum, Maximum,
//   SampleCount, pNN by nearest rank);
// - the alarm looks at the last EvaluationPeriods datapoints and goes to ALARM when DatapointsToAlarm of them breach;
// - a missing datapoint counts as breaching (`breaching`), as good (`notBreaching`); with `missing` an all-missing
//   window is INSUFFICIENT_DATA and otherwise only present points count; `ignore` keeps the previous state then.
// Metric math: numbers, ids, + - * /, comparisons, AND/OR, IF(c, a, b) and FILL(m, v), evaluated per timestamp;
// an operand without a datapoint gives no datapoint (FILL supplies one). That is what the alarms here use.
// Not modelled: anomaly bands, M-of-N look-back beyond the window, low-sample-count percentile rules.
import assert from 'node:assert/strict';
import type { Json } from './platform.js';

/** Raw samples published in one minute: a number is one sample, an array several, undefined none. */
export type MinuteSamples = number | readonly number[] | undefined;
/**
 * Per metric (`<Namespace> <MetricName>`), its samples minute by minute. Where the evaluation is given a `label` for a
 * metric's dimensions (which of two target groups, say), `<Namespace> <MetricName> <label>` feeds that one alone.
 */
export type MetricFeed = Readonly<Record<string, readonly MinuteSamples[]>>;
/** Names the series a read belongs to (e.g. `primary` or `alternate` target group), or undefined. */
export type SeriesLabel = (read: MetricRead) => string | undefined;
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface MetricRead {
  readonly id: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly statistic: string;
  readonly periodSeconds: number;
  readonly dimensions: Readonly<Record<string, Json>>;
}

/** The metrics an alarm reads (one for a plain alarm, every MetricStat of a math alarm). */
export function metricsRead(alarm: Json): MetricRead[] {
  const dims = (list: Json[] | undefined) => Object.fromEntries((list ?? []).map((d: Json) => [d.Name, d.Value]));
  if (alarm.MetricName) {
    return [
      {
        id: 'm',
        namespace: alarm.Namespace,
        metricName: alarm.MetricName,
        statistic: alarm.Statistic ?? alarm.ExtendedStatistic,
        periodSeconds: alarm.Period,
        dimensions: dims(alarm.Dimensions),
      },
    ];
  }
  return (alarm.Metrics ?? [])
    .filter((m: Json) => m.MetricStat)
    .map((m: Json) => ({
      id: m.Id,
      namespace: m.MetricStat.Metric.Namespace,
      metricName: m.MetricStat.Metric.MetricName,
      statistic: m.MetricStat.Stat,
      periodSeconds: m.MetricStat.Period,
      dimensions: dims(m.MetricStat.Metric.Dimensions),
    }));
}

function statistic(name: string, samples: readonly number[]): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  switch (name) {
    case 'Sum':
      return samples.reduce((a, b) => a + b, 0);
    case 'Average':
      return samples.reduce((a, b) => a + b, 0) / samples.length;
    case 'Minimum':
      return sorted[0];
    case 'Maximum':
      return sorted[sorted.length - 1];
    case 'SampleCount':
      return samples.length;
  }
  const p = /^p(\d+(?:\.\d+)?)$/.exec(name);
  assert.ok(p, `statistic ${name} is not modelled`);
  // Nearest rank: the smallest sample with at least p% of the samples at or below it.
  const rank = Math.ceil((Number(p[1]) / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)];
}

/** One datapoint per period of the metric: the statistic over the samples of its minutes. */
function datapoints(
  read: MetricRead,
  feed: MetricFeed,
  minutes: number,
  label?: SeriesLabel,
): Array<number | undefined> {
  const name = label?.(read);
  const key = `${read.namespace} ${read.metricName}${name ? ` ${name}` : ''}`;
  const series = feed[key];
  assert.ok(series, `the alarm reads ${key}, which the scenario does not feed (wrong metric, or a missing series)`);
  const perPeriod = read.periodSeconds / 60;
  assert.ok(Number.isInteger(perPeriod) && perPeriod >= 1, `period ${read.periodSeconds} s is not whole minutes`);
  const points: Array<number | undefined> = [];
  for (let start = 0; start + perPeriod <= minutes; start += perPeriod) {
    const samples = series.slice(start, start + perPeriod).flatMap((s) => (s === undefined ? [] : [s].flat()));
    points.push(statistic(read.statistic, samples));
  }
  return points;
}

type Value = number | undefined;
type Node = (env: Readonly<Record<string, Value>>) => Value;

/** Parses the metric math this repository uses into a function of the ids' values at one timestamp. */
export function parseExpression(text: string): Node {
  const tokens = text.match(/\s*(>=|<=|==|!=|&&|\|\||[A-Za-z_][\w]*|\d+(?:\.\d+)?|[-+*/(),<>])/g)?.map((t) => t.trim());
  assert.ok(tokens && tokens.join('') === text.replace(/\s+/g, ''), `cannot tokenize ${text}`);
  let i = 0;
  const peek = () => tokens[i];
  const take = (expected?: string) => {
    const t = tokens[i++];
    if (expected !== undefined) assert.equal(t, expected, `expected ${expected} in ${text}`);
    return t as string;
  };
  const binary = (next: () => Node, ops: Record<string, (a: number, b: number) => Value>) => (): Node => {
    let left = next();
    while (peek() !== undefined && ops[peek() as string]) {
      const op = ops[take()] as (a: number, b: number) => Value;
      const l = left;
      const r = next();
      left = (env) => {
        const a = l(env);
        const b = r(env);
        return a === undefined || b === undefined ? undefined : op(a, b);
      };
    }
    return left;
  };
  const bool = (v: boolean) => (v ? 1 : 0);
  const primary = (): Node => {
    const t = take();
    if (t === '(') {
      const inner = or();
      take(')');
      return inner;
    }
    if (t === '-') {
      const inner = primary();
      return (env) => {
        const v = inner(env);
        return v === undefined ? undefined : -v;
      };
    }
    if (/^\d/.test(t)) return () => Number(t);
    if (peek() === '(') {
      take('(');
      const args: Node[] = [or()];
      while (peek() === ',') {
        take(',');
        args.push(or());
      }
      take(')');
      const [a, b, c] = args as [Node, Node, Node];
      if (t === 'FILL') return (env) => a(env) ?? b(env);
      if (t === 'IF') {
        return (env) => {
          const cond = a(env);
          if (cond === undefined) return undefined;
          return cond !== 0 ? b(env) : c ? c(env) : undefined;
        };
      }
      assert.fail(`metric math function ${t} is not modelled`);
    }
    return (env) => {
      assert.ok(t in env, `expression ${text} names ${t}, which is no metric of the alarm`);
      return env[t];
    };
  };
  const mul = binary(primary, { '*': (a, b) => a * b, '/': (a, b) => (b === 0 ? undefined : a / b) });
  const add = binary(mul, { '+': (a, b) => a + b, '-': (a, b) => a - b });
  const cmp = binary(add, {
    '>': (a, b) => bool(a > b),
    '>=': (a, b) => bool(a >= b),
    '<': (a, b) => bool(a < b),
    '<=': (a, b) => bool(a <= b),
    '==': (a, b) => bool(a === b),
    '!=': (a, b) => bool(a !== b),
  });
  const and = binary(cmp, { AND: (a, b) => bool(a !== 0 && b !== 0), '&&': (a, b) => bool(a !== 0 && b !== 0) });
  const or = binary(and, { OR: (a, b) => bool(a !== 0 || b !== 0), '||': (a, b) => bool(a !== 0 || b !== 0) });
  const root = or();
  assert.equal(i, tokens.length, `unparsed tail in ${text}`);
  return root;
}

/** The datapoints the alarm compares with its threshold, one per period. */
export function alarmSeries(alarm: Json, feed: MetricFeed, minutes: number, label?: SeriesLabel): Value[] {
  const reads = metricsRead(alarm);
  const byId = new Map(reads.map((r) => [r.id, datapoints(r, feed, minutes, label)]));
  if (alarm.MetricName) return byId.get('m') ?? [];
  const returned = (alarm.Metrics as Json[]).filter((m) => m.ReturnData !== false);
  assert.equal(returned.length, 1, `alarm ${alarm.AlarmName} must return exactly one time series`);
  const out = returned[0];
  if (out.MetricStat) return byId.get(out.Id) ?? [];
  const expression = parseExpression(out.Expression);
  const periods = out.Period ?? reads[0]?.periodSeconds;
  for (const r of reads)
    assert.equal(r.periodSeconds, periods, `${alarm.AlarmName}: metrics of one expression share a period`);
  const length = Math.max(...[...byId.values()].map((p) => p.length));
  return Array.from({ length }, (_, t) =>
    expression(Object.fromEntries([...byId].map(([id, points]) => [id, points[t]]))),
  );
}

const COMPARE: Record<string, (v: number, threshold: number) => boolean> = {
  GreaterThanThreshold: (v, t) => v > t,
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/** The alarm's state after each period once a full evaluation window exists. */
export function evaluateAlarm(alarm: Json, feed: MetricFeed, minutes: number, label?: SeriesLabel): AlarmState[] {
  const compare = COMPARE[alarm.ComparisonOperator];
  assert.ok(compare, `comparison ${alarm.ComparisonOperator} is not modelled`);
  const n: number = alarm.EvaluationPeriods;
  const m: number = alarm.DatapointsToAlarm ?? n;
  const treat: string = alarm.TreatMissingData ?? 'missing';
  const series = alarmSeries(alarm, feed, minutes, label);
  const states: AlarmState[] = [];
  let state: AlarmState = 'INSUFFICIENT_DATA';
  for (let end = n; end <= series.length; end++) {
    const window = series.slice(end - n, end);
    const present = window.filter((v): v is number => v !== undefined);
    const missing = window.length - present.length;
    const breaching = present.filter((v) => compare(v, alarm.Threshold)).length;
    if (treat === 'breaching') state = breaching + missing >= m ? 'ALARM' : 'OK';
    else if (treat === 'notBreaching') state = breaching >= m ? 'ALARM' : 'OK';
    else if (present.length === 0) state = treat === 'ignore' ? state : 'INSUFFICIENT_DATA';
    else state = breaching >= m ? 'ALARM' : 'OK';
    states.push(state);
  }
  return states;
}
