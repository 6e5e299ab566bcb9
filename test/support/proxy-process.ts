import { type CommandProcess, startCommandProcess } from './server-process.js';

export interface ProxyEndpoints {
  /** `http://host:port` in HTTP mode; in TCP mode the same form, to split with `new URL`. */
  url: string;
  port: number;
  adminUrl: string;
}

/** Runs `beacon proxy` as a real process on free loopback ports (listener and admin); resolves once both listen. */
export function startProxyProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandProcess<ProxyEndpoints>> {
  return startCommandProcess(
    ['proxy', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--log-level', 'info', ...args],
    (output) => {
      const proxy = /proxy listening on (?:http|tcp):\/\/(\S+?):(\d+)"/.exec(output);
      const admin = /proxy admin listening on (http:\/\/\S+?)"/.exec(output);
      if (!proxy || !admin) return undefined;
      return { url: `http://${proxy[1]}:${proxy[2]}`, port: Number(proxy[2]), adminUrl: admin[1]! };
    },
    env,
  );
}

/** The proxy's Prometheus text, as label-set → value for one metric name. */
export async function scrape(adminUrl: string, metric: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${metric}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) values.set(match[1] ?? '', Number(match[2]));
  }
  return values;
}
