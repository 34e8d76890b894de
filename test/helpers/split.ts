/**
 * Feeds `bytes` to a fresh consumer cut at every offset (two chunks), then in
 * seeded random chunkings, and returns each run's output for comparison.
 */
export function everySplit<T>(bytes: Buffer, run: (chunks: Buffer[]) => T): { split: string; out: T }[] {
  const results: { split: string; out: T }[] = [];
  results.push({ split: "whole", out: run([Buffer.from(bytes)]) });
  for (let i = 1; i < bytes.length; i++) {
    results.push({ split: `at ${i}`, out: run([Buffer.from(bytes.subarray(0, i)), Buffer.from(bytes.subarray(i))]) });
  }
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let k = 0; k < 50; k++) {
    const chunks: Buffer[] = [];
    let at = 0;
    while (at < bytes.length) {
      const n = 1 + Math.floor(rnd() * 7);
      chunks.push(Buffer.from(bytes.subarray(at, at + n)));
      at += n;
    }
    results.push({ split: `random #${k}`, out: run(chunks) });
  }
  return results;
}
