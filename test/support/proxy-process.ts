import { type CommandProcess, startCommandProcess } from './server-process.js';

export interface ProxyEndpoints {
  /** `http://host:port` in HTTP mode (`https://` with a TLS listener); in TCP mode the same form, to split with `new URL`. */
  url: string;
  port: number;
  adminUrl: string;
}

/** Runs `beacon proxy` as a real process on free loopback ports (listener and admin); resolves once both listen. */
export function startProxyProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandProcess<ProxyEndpoints>> {
  return startCommandProcess(
    ['proxy', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-level', 'info', ...args],
    (output) => {
      const proxy = /proxy listening on (http|https|tcp|tls):\/\/(\S+?):(\d+)"/.exec(output);
      const admin = /proxy admin listening on (http:\/\/\S+?)"/.exec(output);
      if (!proxy || !admin) return undefined;
      const scheme = proxy[1] === 'https' || proxy[1] === 'tls' ? 'https' : 'http';
      return { url: `${scheme}://${proxy[2]}:${proxy[3]}`, port: Number(proxy[3]), adminUrl: admin[1]! };
    },
    env,
  );
}

/** What the proxy's GET /stats says of the fields tests read. */
export interface ProxyStats {
  registry: { reachable: boolean; index: number };
  instances: { id: string; breaker: 'closed' | 'open' | 'half-open' }[];
}

export async function proxyStats(adminUrl: string): Promise<ProxyStats> {
  return (await (await fetch(`${adminUrl}/stats`)).json()) as ProxyStats;
}
