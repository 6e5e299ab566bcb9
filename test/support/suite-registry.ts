import { after, before } from 'node:test';
import { client } from './http.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

export interface SuiteRegistry {
  readonly server: ServerProcess;
  readonly api: ReturnType<typeof client>;
}

/**
 * One `beacon server` for the suite it is called in: started before its first test, stopped
 * after its last. Read `server` and `api` inside tests (they are set once `before` has run).
 */
export function suiteRegistry(args: string[] = ['--db', ':memory:']): SuiteRegistry {
  let server: ServerProcess | undefined;
  let api: ReturnType<typeof client> | undefined;
  before(async () => {
    server = await startServerProcess(args);
    api = client(server.url);
  });
  after(() => server?.stop());
  return {
    get server() {
      if (!server) throw new Error('the suite registry is read before the suite started');
      return server;
    },
    get api() {
      if (!api) throw new Error('the suite registry is read before the suite started');
      return api;
    },
  };
}
