import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as fetchWithAgent } from 'undici';
import type { CertificateFiles, ThrowawayCa } from '../../clients/tls/openssl-ca.js';
import { freePort } from './ports.js';

/**
 * A real etcd cluster on loopback for the cluster tests and the etcd figures: N members (3 by default) started from
 * Debian's `etcd` binary, each on free ports with its own data folder. Nothing here sleeps to
 * synchronise: every wait polls the members (the HTTP `/health` and status endpoints) until they
 * answer, bounded by a deadline. Talking to etcd over its HTTP gateway keeps this helper free of
 * the client library under test.
 */
export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Every member's client URL, in member order (for the client under test). */
  readonly clientUrls: string[];
  /** With the `tls` option: the CA's certificate, and the client certificate this helper probes the members with. */
  readonly tls?: { caCert: string; client: CertificateFiles };
  member(index: number): EtcdMember;
  /** The member that leads now, waiting (up to `timeoutMs`) until one does. */
  leader(timeoutMs?: number): Promise<EtcdMember>;
  /** Waits until every running, unpaused member reports itself healthy (it has a leader). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Compacts the history up to `revision` (physically: old revisions are gone when it resolves). */
  compact(revision: number): Promise<void>;
  /** Kills every member this cluster started and removes their folders; safe to call twice. */
  stop(): Promise<void>;
}

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** True while the process exists (a paused member is running). */
  running(): boolean;
  paused(): boolean;
  /** Sends the signal; for a signal that ends the process, resolves once it has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the member keeps its sockets open and answers nothing ("cut off", not "down"). */
  pause(): Promise<void>;
  /** SIGCONT after `pause`. */
  resume(): Promise<void>;
  /** Stops the member (SIGTERM, SIGKILL after 5 s); its data folder stays for `start`. */
  stop(): Promise<void>;
  /** Starts the member again on the same ports and data folder; resolves once it is healthy. */
  start(timeoutMs?: number): Promise<void>;
  /** The tail of what the member wrote to stdout and stderr. */
  output(): string;
}

export interface EtcdClusterOptions {
  size?: number;
  /** `--auto-compaction-retention`; off unless given, so tests compact explicitly. */
  autoCompactionRetention?: string;
  /** Extra etcd flags for every member. */
  extraArgs?: string[];
  /** Deadline for the cluster to elect a leader and answer. */
  startTimeoutMs?: number;
  /**
   * Client URLs over TLS (`https://`), with certificates from this CA: each member gets a server
   * certificate for 127.0.0.1 and localhost, and requires a client certificate issued by the same
   * CA (`--client-cert-auth`). Peers stay plain http on loopback.
   */
  tls?: ThrowawayCa;
}

/** How this helper calls a member's HTTP endpoints: plain fetch, or fetch with the CA and a client certificate. */
type Probe = (url: string, init: { method?: string; body?: string; signal: AbortSignal }) => Promise<{ json(): Promise<unknown> }>;

const plainProbe: Probe = (url, init) => fetch(url, init);

const INSTALL_HINT = 'apt-get install etcd-server etcd-client';
const OUTPUT_TAIL_CHARS = 64 * 1024;
const POLL_MS = 50;

const alive = new Set<ChildProcess>();
const folders = new Set<string>();
// Members must not outlive this process, however it ends (etcd-cluster.ts also does this when a
// test file's tests are done). A signal's default action skips 'exit', so each is caught once,
// the members are killed, and the signal is raised again to end the process as it would have.
process.once('exit', killEverything);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killEverything();
    process.kill(process.pid, signal);
  });
}

/** Kills every etcd member this process started and removes their folders. */
export function killEverything(): void {
  for (const child of alive) child.kill('SIGKILL');
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
}

/** Fails loudly, naming the package, when the etcd binary is not installed. */
export function assertEtcdInstalled(): void {
  const probe = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`etcd is not installed (the cluster tests start a real etcd cluster): ${INSTALL_HINT}`);
  }
}

export async function startEtcdCluster(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  assertEtcdInstalled();
  const size = options.size ?? 3;
  // Not tempDir(t): a cluster outlives the test that started it (a suite shares one, members are
  // restarted on their data), so its folder goes with the cluster's stop or the file's end.
  const root = mkdtempSync(join(tmpdir(), 'beacon-etcd-'));
  folders.add(root);
  const token = `beacon-test-${process.pid}-${Date.now()}`;
  const taken = new Set<number>();
  const port = async () => {
    for (;;) {
      const candidate = await freePort();
      if (!taken.has(candidate)) return taken.add(candidate), candidate;
    }
  };
  const tls = options.tls ? await memberCertificates(options.tls) : undefined;
  const specs = [];
  for (let i = 0; i < size; i++) {
    const [clientPort, peerPort] = [await port(), await port()];
    const scheme = tls ? 'https' : 'http';
    specs.push({ name: `m${i}`, clientUrl: `${scheme}://127.0.0.1:${clientPort}`, peerUrl: `http://127.0.0.1:${peerPort}`, dataDir: join(root, `m${i}`) });
  }
  const initialCluster = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',');
  const members = specs.map((spec) => {
    const args = [
      '--name', spec.name,
      '--data-dir', spec.dataDir,
      '--listen-client-urls', spec.clientUrl,
      '--advertise-client-urls', spec.clientUrl,
      '--listen-peer-urls', spec.peerUrl,
      '--initial-advertise-peer-urls', spec.peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', token,
      '--logger', 'zap',
      '--log-level', 'warn',
      ...(options.autoCompactionRetention ? ['--auto-compaction-retention', options.autoCompactionRetention] : []),
      ...(tls ? ['--client-cert-auth', '--trusted-ca-file', tls.caCert, '--cert-file', tls.server.cert, '--key-file', tls.server.key] : []),
      ...(options.extraArgs ?? []),
    ];
    return new Member(spec, args, tls?.probe ?? plainProbe);
  });

  let stopped = false;
  const cluster: EtcdCluster = {
    members,
    clientUrls: members.map((m) => m.clientUrl),
    ...(tls ? { tls: { caCert: tls.caCert, client: tls.client } } : {}),
    member(index) {
      const member = members[index];
      if (!member) throw new Error(`no etcd member ${index} (the cluster has ${members.length})`);
      return member;
    },
    leader: (timeoutMs = 20_000) => findLeader(members, timeoutMs),
    waitHealthy: (timeoutMs = 20_000) => waitHealthy(members.filter((m) => m.running() && !m.paused()), timeoutMs),
    async compact(revision) {
      const member = members.find((m) => m.running() && !m.paused());
      if (!member) throw new Error('no running etcd member to compact on');
      const response = await gateway(member, '/v3/kv/compaction', { revision: String(revision), physical: true }, 10_000);
      if (response.error) throw new Error(`etcd compaction to ${revision} failed: ${response.error}`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(members.map((m) => m.kill('SIGKILL')));
      rmSync(root, { recursive: true, force: true });
      folders.delete(root);
      await tls?.agent.close();
    },
  };

  try {
    // All members must start together: each waits for the others to form the first quorum.
    members.forEach((m) => m.spawn());
    await cluster.waitHealthy(options.startTimeoutMs ?? 30_000);
  } catch (error) {
    const logs = members.map((m) => `--- ${m.name} ---\n${m.output().slice(-4000)}`).join('\n');
    await cluster.stop();
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
  return cluster;
}

interface MemberSpec {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
}

class Member implements EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  private child: ChildProcess | undefined;
  private isPaused = false;
  private log = '';

  constructor(
    spec: MemberSpec,
    private readonly args: string[],
    /** How this helper reaches the member's HTTP endpoints (with a client certificate under TLS). */
    readonly probe: Probe,
  ) {
    ({ name: this.name, clientUrl: this.clientUrl, peerUrl: this.peerUrl, dataDir: this.dataDir } = spec);
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  paused(): boolean {
    return this.running() && this.isPaused;
  }

  spawn(): void {
    if (this.running()) throw new Error(`etcd member ${this.name} is already running`);
    // ETCD_* variables from the caller's environment would override the flags above.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ETCD_')));
    const child = spawn('etcd', this.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('error', (error) => keep(Buffer.from(`spawn failed: ${error.message} (${INSTALL_HINT})\n`)));
    alive.add(child);
    child.once('exit', () => alive.delete(child));
    this.child = child;
    this.isPaused = false;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.running()) return;
    if (signal === 'SIGSTOP') this.isPaused = true;
    if (signal === 'SIGCONT') this.isPaused = false;
    const exited = once(child, 'exit');
    child.kill(signal);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
    // A paused process only acts on SIGKILL: let it run so SIGTERM can take effect.
    if (this.isPaused && signal !== 'SIGKILL') child.kill('SIGCONT');
    this.isPaused = false;
    await exited;
  }

  pause(): Promise<void> {
    return this.kill('SIGSTOP');
  }

  resume(): Promise<void> {
    return this.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running()) return;
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await this.kill('SIGTERM');
    clearTimeout(timer);
  }

  async start(timeoutMs = 20_000): Promise<void> {
    this.spawn();
    try {
      await waitHealthy([this], timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- ${this.name} ---\n${this.output().slice(-4000)}`);
    }
  }

  output(): string {
    return this.log;
  }
}

interface GatewayAnswer {
  error?: string;
  [field: string]: unknown;
}

/** The certificates of a TLS cluster: one server certificate for every member, one client certificate for the probes. */
async function memberCertificates(ca: ThrowawayCa) {
  // Both usages: etcd 3.4's JSON gateway (status, compaction) connects to its own gRPC port with
  // this certificate as a client one, and --client-cert-auth refuses a server-only certificate.
  const server = await ca.issue('etcd-member', { altNames: ['IP:127.0.0.1', 'DNS:localhost'], usage: 'both' });
  const client = await ca.issue('etcd-probe', { usage: 'client' });
  const agent = new Agent({ connect: { ca: readFileSync(ca.caCert), cert: readFileSync(client.cert), key: readFileSync(client.key) } });
  const probe: Probe = (url, init) => fetchWithAgent(url, { ...init, dispatcher: agent });
  return { caCert: ca.caCert, server, client, agent, probe };
}

/** One call to etcd's JSON gateway; a member that does not answer within `timeoutMs` is an error. */
async function gateway(member: Member, path: string, body: unknown, timeoutMs: number): Promise<GatewayAnswer> {
  const response = await member.probe(`${member.clientUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return (await response.json()) as GatewayAnswer;
}

/** `/health` is true when the member has a leader and can serve a quorum read. */
async function healthy(member: Member): Promise<boolean> {
  try {
    const response = await member.probe(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
    return ((await response.json()) as { health?: string }).health === 'true';
  } catch {
    return false; // not listening yet, or paused: the caller polls again
  }
}

async function waitHealthy(members: Member[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = members.find((m) => !m.running());
    if (dead) throw new Error(`etcd member ${dead.name} exited while starting`);
    const answers = await Promise.all(members.map(healthy));
    if (answers.every(Boolean)) return;
    if (Date.now() > deadline) {
      const sick = members.filter((_, i) => !answers[i]).map((m) => m.name);
      throw new Error(`etcd members ${sick.join(', ')} not healthy within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

interface MemberStatus {
  member: Member;
  memberId: string;
  leaderId: string;
  term: bigint;
}

async function status(member: Member): Promise<MemberStatus | undefined> {
  try {
    const answer = (await gateway(member, '/v3/maintenance/status', {}, 1_000)) as {
      header?: { member_id?: string };
      leader?: string;
      raftTerm?: string;
    };
    if (!answer.header?.member_id || !answer.leader || answer.leader === '0') return undefined;
    return { member, memberId: answer.header.member_id, leaderId: answer.leader, term: BigInt(answer.raftTerm ?? '0') };
  } catch {
    return undefined;
  }
}

/**
 * The member that calls itself leader in the highest term among those that answer: a deposed
 * leader that was paused can still believe it leads, but only in an older term.
 */
async function findLeader(members: readonly Member[], timeoutMs: number): Promise<EtcdMember> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answers = await Promise.all(members.filter((m) => m.running() && !m.paused()).map(status));
    const leaders = answers.filter((s): s is MemberStatus => s !== undefined && s.memberId === s.leaderId);
    leaders.sort((a, b) => (a.term < b.term ? 1 : a.term > b.term ? -1 : 0));
    if (leaders[0]) return leaders[0].member;
    if (Date.now() > deadline) throw new Error(`no etcd leader within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
