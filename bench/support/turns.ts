/**
 * Measures two sides back to back, `first` first in odd rounds and `second` first in even ones,
 * so neither always runs on the machine the other just warmed (or left collecting garbage).
 */
export async function inTurns<A, B>(round: number, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
  if (round % 2 === 1) {
    const a = await first();
    return [a, await second()];
  }
  const b = await second();
  return [await first(), b];
}
