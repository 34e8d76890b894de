/**
 * One carry-over byte source for streaming parsers (memcached responses,
 * server commands, capture files). Bytes arrive in chunks; a parser reads
 * complete messages from `buf[start, end)` and calls `consume(n)`; whatever is
 * left (an incomplete message) is carried into the next `append`.
 *
 * Ownership: when nothing is carried, the caller's chunk is parsed in place
 * (no copy). Before `append` returns control for the next chunk, leftover
 * bytes are copied into storage this object owns (`settle()`), so the
 * caller may drop or reuse its chunk. The owned storage grows by doubling,
 * only when a single message is larger than it, and never shrinks below
 * `initialBytes`.
 *
 *   owned:  [ consumed | carried (start..end) | free ]
 */
export class CarryBuffer {
  buf: Buffer;
  start = 0;
  end = 0;
  private owned: Buffer;

  constructor(initialBytes = 16 * 1024) {
    this.owned = Buffer.allocUnsafe(initialBytes);
    this.buf = this.owned;
  }

  get available(): number {
    return this.end - this.start;
  }

  /** Bytes of storage this object owns (what it costs to keep). */
  get capacityBytes(): number {
    return this.owned.length;
  }

  /** Adds buf[from, to) after any carried bytes, without making a view of it. */
  appendRange(buf: Buffer, from: number, to: number): void {
    const carried = this.end - this.start;
    if (carried === 0) {
      this.buf = buf;
      this.start = from;
      this.end = to;
      return;
    }
    // Carried bytes always live in owned storage (settle() put them there).
    const len = to - from;
    const need = carried + len;
    if (this.owned.length - this.end >= len) {
      copyBytes(buf, from, to, this.owned, this.end);
      this.end += len;
      return;
    }
    let target = this.owned;
    if (target.length < need) {
      let size = target.length * 2;
      while (size < need) size *= 2;
      target = Buffer.allocUnsafe(size);
    }
    copyBytes(this.owned, this.start, this.end, target, 0);
    copyBytes(buf, from, to, target, carried);
    this.owned = target;
    this.buf = target;
    this.start = 0;
    this.end = need;
  }

  /** Adds a chunk after any carried bytes. */
  append(chunk: Buffer): void {
    this.appendRange(chunk, 0, chunk.length);
  }

  consume(n: number): void {
    this.start += n;
    if (this.start >= this.end) {
      this.start = 0;
      this.end = 0;
      this.buf = this.owned;
    }
  }

  /**
   * Call once the parser has taken all it can from the current chunk:
   * moves leftover bytes that still sit in the caller's chunk into owned
   * storage.
   */
  settle(): void {
    if (this.buf === this.owned) return;
    const carried = this.end - this.start;
    if (carried === 0) {
      this.buf = this.owned;
      this.start = 0;
      this.end = 0;
      return;
    }
    if (this.owned.length < carried) {
      let size = this.owned.length * 2;
      while (size < carried) size *= 2;
      this.owned = Buffer.allocUnsafe(size);
    }
    copyBytes(this.buf, this.start, this.end, this.owned, 0);
    this.buf = this.owned;
    this.start = 0;
    this.end = carried;
  }

  /** Drops everything carried (after a fatal parse error). */
  clear(): void {
    this.start = 0;
    this.end = 0;
    this.buf = this.owned;
  }
}

/** Below this many bytes a loop copies: Buffer#copy of part of a buffer makes a view object per call. */
const SMALL_COPY_BYTES = 64;

/** src[from, to) → dst at `at`; within one buffer only towards its start (a forward copy, like memmove then). */
function copyBytes(src: Buffer, from: number, to: number, dst: Buffer, at: number): void {
  if (to - from > SMALL_COPY_BYTES) {
    src.copy(dst, at, from, to);
    return;
  }
  for (let i = from; i < to; i++) dst[at++] = src[i]!;
}
