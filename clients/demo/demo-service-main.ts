import { runCommand } from '../../contract/command.js';
import { RegistryClientError } from '../registry/errors.js';
import { withTlsAdvice } from '../tls/registry-tls.js';
import { demoServiceUsage, parseDemoServiceConfig } from './demo-service-config.js';
import { startDemoService } from './demo-service.js';

/**
 * `beacon demo-service`: answers HTTP and stays registered until SIGTERM/SIGINT, then
 * deregisters and exits 0 (exit codes: contract/command.ts). A registration the registry
 * refuses (a 4xx: a bad token, a full registry) stops it with exit code 1.
 */
export function main(argv: string[]): Promise<void> {
  return runCommand('demo-service', argv, {
    parse: parseDemoServiceConfig,
    usage: demoServiceUsage,
    async start(config) {
      const service = await startDemoService(config);
      service.registered.catch((error: Error) => {
        if (error instanceof RegistryClientError && error.code === 'closed') return;
        const reason = error instanceof RegistryClientError ? withTlsAdvice(error) : error.message;
        service.log.error({ err: reason }, 'the registry refused the registration: stopping');
        process.exitCode = 1;
        void service.close();
      });
      return service;
    },
  });
}
