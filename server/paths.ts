import { fileURLToPath } from 'node:url';

/** The package root: this file runs compiled, from dist/server/paths.js. */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

export const migrationsDir = `${packageRoot}migrations`;
