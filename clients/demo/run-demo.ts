import { rmSync } from 'node:fs';
import { ConfigError } from '../../contract/command-line.js';
import { ChildCommand, levelNumber } from './child-command.js';
import { type DemoConfig, demoUsage, parseDemoConfig } from './demo-config.js';
import { type DemoTls, makeDemoTls } from './demo-tls.js';
import { DemoTopology } from './demo-topology.js';
import { tour } from './tour.js';

/**
 * `npm run demo`: a registry, three instances of `web` and a proxy, as real `beacon`
 * processes on loopback, with a tour of what to try (docs/demo.md). Ctrl-C or SIGTERM stops
 * them in order and exits 0; a process that fails to start (a taken port) stops the rest and
 * exits 1 saying which and why; bad flags exit 2.
 */

/** `npm run demo` in a terminal: the demo gets the terminal's SIGINT and npm forwards it a moment later. Not a second Ctrl-C. */
const REPEAT_SIGNAL_MS = 1_000;
const NAME_WIDTH = 8;

function say(message: string): void {
  process.stdout.write(`${'demo'.padEnd(NAME_WIDTH)} │ ${message}\n`);
}

async function main(argv: string[]): Promise<void> {
  let config: DemoConfig | null;
  try {
    config = parseDemoConfig(argv, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`demo: ${error.message} (see npm run demo -- --help)\n`);
    process.exit(2);
  }
  if (!config) {
    process.stdout.write(`${demoUsage()}\n`);
    return;
  }

  let tls: DemoTls | undefined;
  if (config.tls) {
    try {
      tls = await makeDemoTls();
    } catch (error) {
      say(`could not make the demo's certificates: ${(error as Error).message}`);
      process.exit(1);
    }
    say(`made a throwaway CA and the demo's server certificate in ${tls.dir} (removed when the demo ends)`);
  }
  const printLevel = levelNumber(config.logLevel);
  const demo = new DemoTopology(config, (name, args) => new ChildCommand(name, args, { print: (line) => process.stdout.write(`${line}\n`), nameWidth: NAME_WIDTH, printLevel }), tls);
  // Whatever ends the demo (an uncaught error, process.exit), no child is left behind, nor a key.
  process.on('exit', () => {
    demo.killAll();
    if (tls) rmSync(tls.dir, { recursive: true, force: true });
  });

  const abort = new AbortController();
  let stopping: Promise<void> | undefined;
  let firstSignalAt = 0;
  const stopAndExit = (code: number) =>
    (stopping ??= (async () => {
      abort.abort();
      const problems = await demo.stop();
      for (const problem of problems) say(problem);
      say(problems.length === 0 ? 'stopped' : 'stopped, not cleanly');
      process.exit(problems.length > 0 ? Math.max(code, 1) : code);
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (Date.now() - firstSignalAt < REPEAT_SIGNAL_MS) return;
      say(`${signal} again: killing every process without waiting`);
      demo.killAll();
      process.exit(1);
    }
    firstSignalAt = Date.now();
    say(`${signal}: stopping the proxy, the services, then the registry`);
    void stopAndExit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  say(`starting a registry (HTTP${tls ? 'S' : ''} ${config.httpPort}, DNS ${config.dnsPort}), web-1..3 (ports ${config.basePort}-${config.basePort + 2}) and a proxy (${config.proxyPort})`);
  try {
    await demo.start(abort.signal);
  } catch (error) {
    if (stopping) return;
    say(`could not start: ${(error as Error).message}`);
    say('stopping what was started');
    void stopAndExit(1);
    return;
  }
  if (stopping) return;

  const { registry, proxy, services } = demo;
  process.stdout.write(tour(config, { registry: registry?.pid, proxy: proxy?.pid, services: services.map((service) => service.pid) }, tls?.caCert));

  // The registry and the proxy are the demo; an instance may come and go (the tour freezes one).
  for (const child of [registry, proxy]) {
    void child?.exited.then((exit) => {
      if (stopping) return;
      say(`${child.describeExit(exit)}: the demo cannot go on`);
      void stopAndExit(1);
    });
  }
  for (const service of services) {
    void service.exited.then((exit) => {
      if (!stopping) say(`${service.describeExit(exit)}; the others keep serving`);
    });
  }
}

await main(process.argv.slice(2));
