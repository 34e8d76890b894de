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
    if (this.end - this.start === 0) {
      this.buf = buf;
      this.start = from;
      this.end = to;
      return;
    }
    this.append(buf.subarray(from, to));
  }

  /** Adds a chunk after any carried bytes. */
  append(chunk: Buffer): void {
    const carried = this.end - this.start;
    if (carried === 0) {
      this.buf = chunk;
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    // Carried bytes always live in owned storage (settle() put them there).
    const need = carried + chunk.length;
    if (this.owned.length - this.end >= chunk.length) {
      chunk.copy(this.owned, this.end);
      this.end += chunk.length;
      return;
    }
    let target = this.owned;
    if (target.length < need) {
      let size = target.length * 2;
      while (size < need) size *= 2;
      target = Buffer.allocUnsafe(size);
    }
    this.owned.copy(target, 0, this.start, this.end);
    chunk.copy(target, carried);
    this.owned = target;
    this.buf = target;
    this.start = 0;
    this.end = need;
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
    this.buf.copy(this.owned, 0, this.start, this.end);
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
