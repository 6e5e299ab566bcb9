import { z } from 'zod';
import { ConfigError, parseFlags, switchFlag, usage } from '../../contract/command-line.js';
import { etcdPrefixSetting, etcdTls, etcdTlsSettings, etcdUrls } from '../config.js';
import { EtcdClient, EtcdError } from '../store/etcd/etcd-client.js';
import { readSqliteSnapshot, SnapshotError } from '../store/sqlite/sqlite-snapshot.js';
import { planCopy } from './copy-plan.js';
import { CopyConflict, writeCopy } from './copy-to-etcd.js';

/** `beacon store copy`'s flags: where from, where to. Both ends belong to one run, so no variable but the prefix's and etcd's TLS files'. */
const settings = {
  from: {
    help: "the single node's SQLite file (beacon server --db), opened read-only",
    schema: z.string({ error: '--from is required (the SQLite file to copy)' }).min(1, '--from must not be empty'),
    env: false,
  },
  'to-etcd': {
    help: 'etcd client URLs, comma-separated, of the cluster to copy into',
    schema: z.string({ error: '--to-etcd is required (etcd client URLs)' }).min(1, '--to-etcd must not be empty').pipe(etcdUrls('--to-etcd')),
    env: false,
  },
  'etcd-prefix': etcdPrefixSetting,
  ...etcdTlsSettings,
  overwrite: { ...switchFlag('--overwrite', 'replace the records etcd holds differently (without it: name them, copy nothing)'), env: false },
} as const;

/** Exit codes: what a script can branch on (docs/cluster.md#moving-in). */
const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

const ABOUT = `Copies a single node's registry (instances with their state, ACL tokens) into etcd, in the
format cluster nodes read. Idempotent: records etcd already holds the same are left alone.`;

function storeUsage(): string {
  return `${usage('beacon store copy --from FILE --to-etcd URL[,URL...] [--etcd-prefix /beacon/] [--etcd-ca FILE --etcd-cert FILE --etcd-key FILE] [--overwrite]', settings)}\n\n${ABOUT}`;
}

/** `beacon store <subcommand>`: operator commands on where the registry is kept. */
export async function main(argv: string[]): Promise<void> {
  const [subcommand, ...rest] = argv;
  if (subcommand === '--help' || subcommand === '-h') return void process.stdout.write(`${storeUsage()}\n`);
  if (subcommand !== 'copy') return void fail(EXIT.usage, `beacon store: ${subcommand === undefined ? 'a subcommand is required' : `unknown subcommand "${subcommand}"`} (subcommands: copy; see beacon store --help)`);
  process.exitCode = await copy(rest);
}

async function copy(argv: string[]): Promise<number> {
  let flags;
  let tls;
  try {
    flags = parseFlags(settings, argv, process.env);
    if (flags) tls = etcdTls('--to-etcd', flags['to-etcd'].split(','), flags);
  } catch (error) {
    if (error instanceof ConfigError) return fail(EXIT.usage, `beacon store copy: ${error.message} (see beacon store copy --help)`);
    throw error;
  }
  if (!flags) {
    process.stdout.write(`${storeUsage()}\n`);
    return EXIT.ok;
  }
  let snapshot;
  try {
    snapshot = readSqliteSnapshot(flags.from);
  } catch (error) {
    if (error instanceof SnapshotError) return fail(EXIT.usage, `beacon store copy: ${error.message}`);
    throw error;
  }
  const prefix = flags['etcd-prefix'];
  const client = new EtcdClient({ endpoints: flags['to-etcd'].split(','), requestTimeoutMs: 10_000, ...(tls ? { tls } : {}) });
  try {
    const listed = await client.get(prefix);
    const plan = planCopy(snapshot, listed.kvs, { prefix, now: Date.now(), overwrite: flags.overwrite });
    if (plan.different.length > 0 && !flags.overwrite) {
      process.stdout.write(`copied 0, already there ${plan.alreadyThere.length}, different ${plan.different.length}\n`);
      return fail(EXIT.refused, `beacon store copy: etcd holds ${plan.different.length} records that differ from ${flags.from}; nothing was copied (--overwrite replaces them): ${plan.different.join(', ')}`);
    }
    const copied = await writeCopy(client, prefix, plan.writes);
    const replaced = flags.overwrite && plan.different.length > 0 ? ' (replaced)' : '';
    process.stdout.write(`copied ${copied}, already there ${plan.alreadyThere.length}, different ${plan.different.length}${replaced}\n`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CopyConflict) return fail(EXIT.refused, `beacon store copy: ${error.message}`);
    if (error instanceof EtcdError) return fail(error.code === 'unavailable' ? EXIT.unreachable : EXIT.refused, `beacon store copy: ${error.message}`);
    throw error;
  } finally {
    await client.close();
  }
}

function fail(code: number, message: string): number {
  process.stderr.write(`${message}\n`);
  process.exitCode = code;
  return code;
}
