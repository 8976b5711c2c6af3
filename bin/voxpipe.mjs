#!/usr/bin/env node
// The CLI runs from TypeScript source through tsx, so `npm ci` is the whole install (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main(process.argv);
