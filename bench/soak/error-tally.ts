/** The kinds of failure the soak tells apart; the pass criterion is zero of every kind. */
export const ERROR_KINDS = {
  httpStatus: 'HTTP non-2xx answers',
  httpSocket: 'HTTP socket errors and timeouts',
  dnsTimeout: 'DNS timeouts',
  dnsAnswer: 'DNS answers not NOERROR or empty',
  blockingQuery: 'Blocking query errors',
} as const;

export type ErrorKind = keyof typeof ERROR_KINDS;

/** Examples kept per kind: enough to see what went wrong without growing with the errors. */
const EXAMPLES_PER_KIND = 5;

/** Errors counted by kind, with the first few messages of each. */
export class ErrorTally {
  readonly counts: Record<ErrorKind, number> = { httpStatus: 0, httpSocket: 0, dnsTimeout: 0, dnsAnswer: 0, blockingQuery: 0 };
  readonly examples: Record<ErrorKind, string[]> = { httpStatus: [], httpSocket: [], dnsTimeout: [], dnsAnswer: [], blockingQuery: [] };

  record(kind: ErrorKind, message: string): void {
    this.counts[kind]++;
    if (this.examples[kind].length < EXAMPLES_PER_KIND) this.examples[kind].push(message);
  }

  get total(): number {
    return Object.values(this.counts).reduce((total, count) => total + count, 0);
  }
}

/** An HTTP request's failure as the tally counts it: the answer's status, or the socket's error. */
export function describeFailure(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
