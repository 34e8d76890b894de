import { assertValidKey } from "./keys.js";

/**
 * The keys a probe reads: `<prefix><first>` … `<prefix><first + count − 1>`
 * (`first` is 0 unless the key space is a shard's slice). Indices given to
 * `keyAt` and `GetFramer.frame` run from 0 to count − 1. Nothing is built
 * per key: a `get` is framed from the prefix and the index when it is sent.
 */
export interface KeySpace {
  readonly prefix: string;
  readonly first: number;
  readonly count: number;
}

/** Checks the first and the last key (the longest), so every key in between is valid too. */
export function keySpace(prefix: string, count: number, option = "--key-prefix", first = 0): KeySpace {
  if (!(count >= 1)) throw new RangeError("a key space needs at least one key");
  assertValidKey(prefix + String(first), option);
  assertValidKey(prefix + String(first + count - 1), option);
  return { prefix, first, count };
}

export function keyAt(keys: KeySpace, index: number): string {
  return keys.prefix + String(keys.first + index);
}

const GET = Buffer.from("get ");
/** Enough digits for any index a JavaScript number holds exactly. */
const MAX_DIGITS = 16;

/**
 * One `get <prefix><index>\r\n` at a time, framed into a buffer owned by one
 * connection and rewritten for every request. The views (`whole`, the
 * tokens a split writer sends, and `key`) are made once per index width, so
 * framing a request allocates nothing.
 *
 *   buf: [ "get " | prefix | digits | "\r\n" | unused ]
 *
 * Reuse is safe because a connection carries one request at a time: the
 * next get is framed only after the previous one's reply arrived, by which
 * time its bytes have left.
 */
export class GetFramer {
  readonly keys: KeySpace;
  private readonly buf: Buffer;
  private readonly digitsAt: number;
  /** Per digit count: the whole command, its three tokens and its key. */
  private readonly wholeBy: Buffer[] = [];
  private readonly tokensBy: Buffer[][] = [];
  private readonly keyBy: Buffer[] = [];
  whole!: Buffer;
  tokens!: readonly Buffer[];
  key!: Buffer;

  constructor(keys: KeySpace) {
    this.keys = keys;
    const prefix = Buffer.from(keys.prefix, "utf8");
    this.digitsAt = GET.length + prefix.length;
    this.buf = Buffer.alloc(this.digitsAt + MAX_DIGITS + 2);
    GET.copy(this.buf, 0);
    prefix.copy(this.buf, GET.length);
  }

  /** Frames the get for key `index` (0 ≤ index < count) and points the views at it. */
  frame(index: number): void {
    const b = this.buf;
    const n = this.keys.first + index;
    let digits = 1;
    for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
    let at = this.digitsAt + digits;
    b[at] = 0x0d;
    b[at + 1] = 0x0a;
    let v = n;
    do {
      b[--at] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    } while (v > 0);
    let whole = this.wholeBy[digits];
    if (whole === undefined) {
      const end = this.digitsAt + digits;
      const key = b.subarray(GET.length, end);
      whole = this.wholeBy[digits] = b.subarray(0, end + 2);
      this.keyBy[digits] = key;
      this.tokensBy[digits] = [b.subarray(0, GET.length), key, b.subarray(end, end + 2)];
    }
    this.whole = whole;
    this.tokens = this.tokensBy[digits]!;
    this.key = this.keyBy[digits]!;
  }
}
