#!/usr/bin/env node
// Runs the CLI straight from TypeScript sources, so `npx tier` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
