/**
 * The memcached binary protocol, framed and named only (mcdiag pairs its
 * requests and responses; it does not decode values).
 *
 *   header (24): magic(1) opcode(1) keylen(2) extlen(1) type(1) status|vbucket(2)
 *                bodylen(4) opaque(4) cas(8), then bodylen bytes
 */
export const BINARY_REQUEST = 0x80;
export const BINARY_RESPONSE = 0x81;
export const BINARY_HEADER_BYTES = 24;

const NAMES: Record<number, string> = {
  0x00: "Get",
  0x01: "Set",
  0x02: "Add",
  0x03: "Replace",
  0x04: "Delete",
  0x05: "Increment",
  0x06: "Decrement",
  0x07: "Quit",
  0x08: "Flush",
  0x09: "GetQ",
  0x0a: "No-op",
  0x0b: "Version",
  0x0c: "GetK",
  0x0d: "GetKQ",
  0x0e: "Append",
  0x0f: "Prepend",
  0x10: "Stat",
  0x11: "SetQ",
  0x12: "AddQ",
  0x13: "ReplaceQ",
  0x14: "DeleteQ",
  0x15: "IncrementQ",
  0x16: "DecrementQ",
  0x17: "QuitQ",
  0x18: "FlushQ",
  0x19: "AppendQ",
  0x1a: "PrependQ",
  0x1b: "Verbosity",
  0x1c: "Touch",
  0x1d: "GAT",
  0x1e: "GATQ",
  0x20: "SASL-List",
  0x21: "SASL-Auth",
  0x22: "SASL-Step",
  0x23: "GATK",
  0x24: "GATKQ",
};

/** Interned opcode name, as reports show it (`bin:Get`). */
export function binaryOpcodeName(op: number): string {
  const n = NAMES[op];
  return n === undefined ? "bin:other" : NAME_CACHE[op]!;
}
const NAME_CACHE: string[] = [];
for (const [k, v] of Object.entries(NAMES)) NAME_CACHE[Number(k)] = `bin:${v}`;

/** Quiet opcodes answer only on failure (or, for GetQ/GetKQ, on a hit). */
export function binaryIsQuiet(op: number): boolean {
  return (
    (op >= 0x09 && op <= 0x0d && op !== 0x0a && op !== 0x0b && op !== 0x0c) ||
    (op >= 0x11 && op <= 0x1a) ||
    op === 0x1e ||
    op === 0x24
  );
}

/** Length of the binary message at buf[at…end), or -1 while incomplete. */
export function binaryFrameLength(buf: Buffer, at: number, end: number): number {
  if (end - at < BINARY_HEADER_BYTES) return -1;
  const total = BINARY_HEADER_BYTES + buf.readUInt32BE(at + 8);
  return end - at < total ? -1 : total;
}
