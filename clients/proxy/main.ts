import { runCommand } from '../../contract/command.js';
import { parseProxyConfig, proxyUsage } from './proxy-config.js';
import { startProxy } from './proxy.js';

/** `beacon proxy`: forwards to a service's healthy instances until SIGTERM/SIGINT (exit codes: contract/command.ts). */
export function main(argv: string[]): Promise<void> {
  return runCommand('proxy', argv, { parse: parseProxyConfig, usage: proxyUsage, start: startProxy });
}
