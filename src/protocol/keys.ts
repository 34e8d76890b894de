import { McdiagError } from "../util/errors.js";

/** memcached's limit on a key's length in the text protocol (protocol.txt). */
export const MAX_KEY_BYTES = 250;

/**
 * Why `key` cannot be sent in the text protocol, or undefined when it can:
 * 1-250 bytes, no whitespace, no control characters.
 */
export function keyProblem(key: string): string | undefined {
  const bytes = Buffer.byteLength(key);
  if (bytes === 0) return "is empty";
  if (bytes > MAX_KEY_BYTES) return `is ${bytes} bytes long (the limit is ${MAX_KEY_BYTES})`;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return `contains ${c === 0x20 ? "a space" : "a control character"} at position ${i}`;
  }
  return undefined;
}

/** Throws BAD_KEY naming where the key came from (`what`, e.g. "--key-prefix"). */
export function assertValidKey(key: string, what: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined) {
    throw new McdiagError("BAD_KEY", `${what}: key '${printable(key)}' ${problem}`, { key, option: what });
  }
}

function printable(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this escapes
  const shown = s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return shown.length > 60 ? shown.slice(0, 60) + "…" : shown;
}
