import { preview } from "../util/bytes.js";

/** Commands a recording server keeps unless told otherwise; later ones are counted only (bounded memory). */
export const MAX_RECORDED_COMMANDS = 100_000;

/** One piece of a command as it arrived: the bytes of one read from the socket. */
export interface ArrivedPiece {
  sizeBytes: number;
  /** Arrival, ms since the server started. */
  atMs: number;
  /** Printable rendering of the piece, keys included. */
  text: string;
  /** The same with the key's bytes replaced by ‹key›, for reports that must not show keys. */
  maskedText: string;
}

/** How one command reached the server. */
export interface CommandRecord {
  connection: number;
  /** 0-based position of the command on its connection. */
  index: number;
  verb: string;
  /** First key, if any (binary keys as latin1). */
  key: string | undefined;
  sizeBytes: number;
  pieces: ArrivedPiece[];
  /** Largest gap between consecutive pieces, ms (0 for one piece). */
  maxGapMs: number;
  /** Announced data the server refused and discarded unread (a value above the item limit). */
  discardedBytes?: number;
}

/**
 * Attributes socket reads to commands. Reads are queued as they arrive; when
 * the parser frames a command of N bytes, the first N queued bytes are that
 * command's, in the pieces they arrived in.
 *
 *   reads:    [ 4 bytes @t0 ][ 9 bytes @t1 ][ 16 bytes @t2 … ]
 *   command:  "get " (t0) + "user:42\r\n" (t1)      → 2 pieces, gap t1-t0
 */
export class ArrivalTracker {
  private readonly reads: { atMs: number; remaining: number }[] = [];
  private head = 0;

  onRead(sizeBytes: number, atMs: number): void {
    this.reads.push({ atMs, remaining: sizeBytes });
  }

  /**
   * Takes the next `sizeBytes` bytes; `bytes` is the command's text for
   * previews, and bytes[keyFrom, keyTo) its key (masked in `maskedText`).
   */
  take(
    sizeBytes: number,
    bytes: Buffer,
    from: number,
    keyFrom = -1,
    keyTo = -1,
  ): { pieces: ArrivedPiece[]; maxGapMs: number } {
    const pieces: ArrivedPiece[] = [];
    let left = sizeBytes;
    let at = from;
    let maxGapMs = 0;
    while (left > 0 && this.head < this.reads.length) {
      const r = this.reads[this.head]!;
      const n = Math.min(r.remaining, left);
      if (pieces.length > 0) maxGapMs = Math.max(maxGapMs, r.atMs - pieces[pieces.length - 1]!.atMs);
      pieces.push({
        sizeBytes: n,
        atMs: r.atMs,
        text: preview(bytes, at, at + n, 48),
        maskedText: masked(bytes, at, at + n, keyFrom, keyTo),
      });
      at += n;
      left -= n;
      r.remaining -= n;
      if (r.remaining === 0) this.head++;
    }
    this.compact();
    return { pieces, maxGapMs };
  }

  /** Drops the next `sizeBytes` bytes (data discarded unread). */
  skip(sizeBytes: number): void {
    let left = sizeBytes;
    while (left > 0 && this.head < this.reads.length) {
      const r = this.reads[this.head]!;
      const n = Math.min(r.remaining, left);
      left -= n;
      r.remaining -= n;
      if (r.remaining === 0) this.head++;
    }
    this.compact();
  }

  private compact(): void {
    if (this.head > 1024) {
      this.reads.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** Preview of buf[from, to) with the part inside [keyFrom, keyTo) shown as ‹key›. */
function masked(buf: Buffer, from: number, to: number, keyFrom: number, keyTo: number): string {
  if (keyTo <= from || keyFrom >= to || keyFrom < 0) return preview(buf, from, to, 48);
  const a = Math.max(from, keyFrom);
  const b = Math.min(to, keyTo);
  return preview(buf, from, a, 48) + "‹key›" + preview(buf, b, to, 48);
}
