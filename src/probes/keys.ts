import { getCommand, type PreparedCommand } from "../protocol/commands.js";
import { keyAt, keySpace, type KeySpace } from "../protocol/get-frame.js";

/**
 * The probe's own keys: `<prefix><first>` … `<prefix><first + count − 1>`;
 * it never touches keys outside its prefix. A shard reads its own slice.
 */
export function probeKeys(prefix: string, count: number, first = 0): KeySpace {
  return keySpace(prefix, count, "--key-prefix", first);
}

/** Get commands for the first few keys, for warm-up (the measured loop frames its own). */
export function warmUpCommands(keys: KeySpace, count: number): PreparedCommand[] {
  const out: PreparedCommand[] = [];
  for (let i = 0; i < Math.min(count, keys.count); i++) out.push(getCommand(keyAt(keys, i)));
  return out;
}

/** A recognisable value of `size` bytes, so a dump shows who wrote it. */
export function seedValue(size: number): Buffer {
  const pattern = Buffer.from("mcdiag-seed-value|");
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = pattern[i % pattern.length]!;
  return out;
}
