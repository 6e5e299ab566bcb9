import { Pool } from 'undici';

/** What a request through a proxy came back with: the backend that answered (test/support/backends.ts), or the failure. */
export interface ProxiedAnswer {
  status: number;
  backend?: string;
  error?: string;
}

/** One GET through the pool; never throws, an error is an answer. */
export async function sendThrough(pool: Pool): Promise<ProxiedAnswer> {
  try {
    const { statusCode, body } = await pool.request({ path: '/', method: 'GET', headersTimeout: 10_000 });
    const text = await body.text();
    return statusCode === 200 ? { status: 200, backend: (JSON.parse(text) as { backend: string }).backend } : { status: statusCode, error: text };
  } catch (error) {
    return { status: 0, error: (error as Error).message };
  }
}

/** Sends `count` GETs through `url` with `concurrency` in flight; errors are answers. */
export async function sendMany(url: string, count: number, concurrency: number): Promise<ProxiedAnswer[]> {
  const pool = new Pool(url, { connections: concurrency });
  const answers: ProxiedAnswer[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      answers.push(await sendThrough(pool));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.close();
  return answers;
}
