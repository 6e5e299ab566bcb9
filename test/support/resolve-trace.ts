import { appendFileSync } from 'node:fs';
import type { InitializeHook, ResolveHook } from 'node:module';

/**
 * Module customization hooks (`module.register`) that append every URL the ESM loader resolves
 * to a file, one a line. The line is written synchronously before the resolution returns, so
 * the file is complete as soon as the import that caused it settles: no message to wait for.
 */
let log = '';

export const initialize: InitializeHook<{ log: string }> = (data) => {
  log = data.log;
};

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const resolved = await nextResolve(specifier, context);
  appendFileSync(log, `${resolved.url}\n`);
  return resolved;
};
