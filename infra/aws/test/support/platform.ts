// Builds a stage in memory for template assertions (context from cdk.json, no policy gates: those have their own test).
import { readFileSync } from 'node:fs';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadStageConfig } from '../../config/index.js';
import { buildPlatform, type Platform } from '../../lib/platform.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};
const cache = new Map<string, Platform>();

export function cdkContext(): Record<string, unknown> {
  return { ...cdkJson.context };
}

export function platform(stage: 'dev' | 'prod'): Platform {
  let built = cache.get(stage);
  if (!built) {
    const app = new App({ context: cdkContext() });
    built = buildPlatform(app, loadStageConfig(stage));
    cache.set(stage, built);
  }
  return built;
}

const templates = new WeakMap<Stack, Template>();
export function template(stack: Stack): Template {
  let t = templates.get(stack);
  if (!t) {
    t = Template.fromStack(stack);
    templates.set(stack, t);
  }
  return t;
}

/** A value read from a synthesized CloudFormation template (untyped JSON). */
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON.
export type Json = any;

/** Every resource of a type in a template, as [logicalId, resource]. */
export function resourcesOf(t: Template, type: string): Array<[string, { Properties: Record<string, Json> }]> {
  return Object.entries(t.findResources(type)) as Array<[string, { Properties: Record<string, Json> }]>;
}
