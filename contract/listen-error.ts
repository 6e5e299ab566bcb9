/**
 * A listener that could not open its port, said in one line a user can act on (`cannot listen
 * for HTTP on 127.0.0.1:8500: address already in use`). The registry, the proxy and the demo
 * service all open listeners, so all three say it the same way.
 */
export class ListenError extends Error {
  constructor(listener: string, host: string, port: number, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason =
      code === 'EADDRINUSE'
        ? 'address already in use'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EADDRNOTAVAIL'
            ? 'address not available on this machine'
            : (cause as Error).message;
    super(`cannot listen for ${listener} on ${host.includes(':') ? `[${host}]` : host}:${port}: ${reason}`, { cause });
  }
}
