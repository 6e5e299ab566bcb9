import { fileURLToPath } from 'node:url';

/** The package root: this file runs compiled, from dist/server/paths.js. */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

export const migrationsDir = `${packageRoot}migrations`;

/** The dashboard's HTML, JS and CSS: served as they are, never compiled. */
export const dashboardDir = `${packageRoot}server/http/dashboard`;
