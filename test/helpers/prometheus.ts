// Reading /metrics the way Prometheus does, and PromQL the way Prometheus does, with the Prometheus
// project's own code: the text-format parser of its Python client (Debian's python3-prometheus-client;
// the JavaScript parsers on npm fold labelled histograms into one series) and the PromQL grammar of
// its web UI (@prometheus-io/lezer-promql).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';

const PYTHON = '/usr/bin/python3';
const PARSE = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
# NaN and infinities are legal sample values; JSON has no words for them.
value = lambda v: v if math.isfinite(v) else repr(v)
print(json.dumps([{'name': f.name, 'type': f.type, 'help': f.documentation,
                   'samples': [{'name': s.name, 'labels': s.labels, 'value': value(s.value)} for s in f.samples]}
                  for f in text_string_to_metric_families(sys.stdin.read())]))
`;

export type Family = {
  name: string;
  type: string;
  help: string;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
};

/** Why the official parser cannot run here, or undefined when it can. */
export function officialParserMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  try {
    execFileSync(PYTHON, ['-c', 'import prometheus_client.parser'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'the Prometheus text-format parser is missing: apt-get install python3-prometheus-client';
  }
}

const NON_FINITE: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity };

export function parseExposition(text: string): Family[] {
  const families: Family[] = JSON.parse(execFileSync(PYTHON, ['-c', PARSE], { input: text, encoding: 'utf8' }));
  for (const family of families)
    for (const sample of family.samples)
      if (typeof sample.value === 'string') sample.value = NON_FINITE[sample.value] ?? Number(sample.value);
  return families;
}

/** The series names a family puts on the wire (the parser drops a counter's _total from its name). */
export function exposedNames(family: Family): string[] {
  if (family.type === 'histogram') return ['_bucket', '_sum', '_count'].map((s) => family.name + s);
  if (family.type === 'counter') return [`${family.name}_total`];
  return [family.name];
}

/** The value of the one sample with this name and exactly these labels (undefined when absent). */
export function sampleValue(families: Family[], name: string, labels: Record<string, string> = {}) {
  const matches = families
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && JSON.stringify(sorted(s.labels)) === JSON.stringify(sorted(labels)));
  if (matches.length > 1) throw new Error(`${matches.length} samples ${name}${JSON.stringify(labels)}`);
  return matches[0]?.value;
}
const sorted = (o: Record<string, string>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

export type Selector = { metric: string; labels: string[] };

/** Parses a PromQL expression; returns its syntax errors and the series it selects. */
export function promqlSelectors(expr: string): { errors: string[]; selectors: Selector[] } {
  const errors: string[] = [];
  const selectors: Selector[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError)
        errors.push(`syntax error at ${node.from}: ${JSON.stringify(expr.slice(node.from, node.from + 20))}`);
      if (node.name !== 'VectorSelector') return;
      const ident = node.node.getChild('Identifier');
      const labels: string[] = [];
      const matchers = node.node.getChild('LabelMatchers');
      if (matchers)
        for (let m = matchers.firstChild; m; m = m.nextSibling) {
          const name = m.getChild('LabelName');
          if (name) labels.push(expr.slice(name.from, name.to));
        }
      selectors.push({ metric: ident ? expr.slice(ident.from, ident.to) : '', labels });
    },
  });
  return { errors, selectors };
}
