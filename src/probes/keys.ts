import { getCommand, setCommand, type PreparedCommand } from "../protocol/commands.js";
import { assertValidKey } from "../protocol/keys.js";

/** The probe's own keys: `<prefix><index>`; it never touches keys outside its prefix. */
export function probeKeys(prefix: string, count: number): string[] {
  assertValidKey(prefix + "0", "--key-prefix");
  assertValidKey(prefix + String(count - 1), "--key-prefix");
  const keys: string[] = [];
  for (let i = 0; i < count; i++) keys.push(prefix + String(i));
  return keys;
}

/** `get` commands built once per key and reused for every request. */
export function getCommands(keys: readonly string[]): PreparedCommand[] {
  return keys.map((k) => getCommand(k));
}

/** A recognisable value of `size` bytes, so a dump shows who wrote it. */
export function seedValue(size: number): Buffer {
  const pattern = Buffer.from("mcdiag-seed-value|");
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = pattern[i % pattern.length]!;
  return out;
}

export function setCommands(keys: readonly string[], value: Buffer): PreparedCommand[] {
  return keys.map((k) => setCommand(k, value));
}
