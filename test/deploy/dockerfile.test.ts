import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { test } from 'node:test';
import { dashboardDir, migrationsDir, packageRoot } from '../../server/paths.js';

/** No Docker engine runs here, so the runtime stage is read, not built. */
test('the runtime image copies the files the server reads at run time: migrations and the dashboard', () => {
  const dockerfile = readFileSync(`${packageRoot}Dockerfile`, 'utf8');
  const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const copied = [...runtimeStage.matchAll(/^COPY --from=build \/app\/(\S+) (\S+)$/gm)].map(([, from, to]) => ({ from, to }));

  for (const dir of [migrationsDir, dashboardDir]) {
    const path = relative(packageRoot, dir);
    assert.ok(copied.some(({ from, to }) => from === path && to === path), `the runtime stage copies ${path}`);
  }
});
