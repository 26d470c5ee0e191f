// How CloudWatch Logs matches an unstructured-text filter pattern against one log event, for the term patterns the
// metric filters here use. From "Filter pattern syntax for metric filters, subscription filters, and filter log
// events" (CloudWatch Logs User Guide): terms separated by spaces must all appear; terms are case-sensitive; a term in
// double quotes is an exact phrase (needed for non-alphanumeric characters); `-term` excludes events that contain it.
// Not modelled (refused): JSON `{ }` and space-delimited `[ ]` patterns, `?term` alternatives, regular expressions.
import assert from 'node:assert/strict';

interface Term {
  readonly text: string;
  readonly exclude: boolean;
}

export function parseTermPattern(pattern: string): Term[] {
  assert.ok(!/^\s*[{[]/.test(pattern), `pattern ${pattern} is JSON or space-delimited: not modelled`);
  const terms: Term[] = [];
  const re = /\s*(-?)(?:"([^"]*)"|([^\s"]+))/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  // biome-ignore lint/suspicious/noAssignInExpressions: the tokenizer loop.
  while ((m = re.exec(pattern)) !== null) {
    const text = m[2] ?? (m[3] as string);
    assert.ok(!text.startsWith('?') && !text.startsWith('%'), `pattern ${pattern}: ${text} is not modelled`);
    assert.ok(
      m[2] !== undefined || /^[A-Za-z0-9_]+$/.test(text),
      `pattern ${pattern}: ${text} has non-alphanumeric characters and must be quoted`,
    );
    terms.push({ text, exclude: m[1] === '-' });
    end = re.lastIndex;
  }
  assert.equal(pattern.slice(end).trim(), '', `pattern ${pattern}: cannot parse from ${pattern.slice(end)}`);
  assert.ok(
    terms.some((t) => !t.exclude),
    `pattern ${pattern} has no term to match`,
  );
  return terms;
}

/** Whether `message` (one log event) matches the term pattern. */
export function matchesTermPattern(pattern: string, message: string): boolean {
  return parseTermPattern(pattern).every((t) => message.includes(t.text) !== t.exclude);
}
