import { formatAddress } from "./address.js";
import type { TcpPacket } from "./decode.js";
import { HalfStream } from "./reassembly.js";
import type { McSession } from "./session.js";
import type { FlowStats } from "./aggregate.js";

export const KIND_UNKNOWN = 0;
export const KIND_MEMCACHED = 1;
export const KIND_OTHER = 2;

/**
 * One TCP connection, both directions. Endpoint A is the lower of the two
 * (address, port) pairs, so both directions find the same object; `dir` 0
 * is A → B.
 */
export class Conn {
  kind = KIND_UNKNOWN;
  /** Direction the client sends in, once known. */
  clientDir: 0 | 1 | -1 = -1;
  readonly halves: [HalfStream, HalfStream] = [new HalfStream(0), new HalfStream(1)];
  session: McSession | undefined;
  stats: FlowStats | undefined;
  lastTNs = 0;
  closed = false;
  readonly nameA: string;
  readonly nameB: string;

  constructor(
    readonly id: number,
    readonly hash: number,
    /** Address words of A then B (1 or 4 each) and ports. */
    readonly words: Uint32Array,
    readonly portA: number,
    readonly portB: number,
    buf: Buffer,
    aAt: number,
    bAt: number,
    len: 4 | 16,
  ) {
    this.nameA = formatAddress(buf, aAt, len, portA);
    this.nameB = formatAddress(buf, bAt, len, portB);
  }
}

/**
 * Finds the connection of a packet without allocating: a numeric hash of
 * the canonical 4-tuple, collisions resolved by comparing address words.
 */
export class FlowTable {
  private readonly map = new Map<number, Conn | Conn[]>();
  private nextId = 1;
  /** Set by lookup: the packet's direction within the connection. */
  dir: 0 | 1 = 0;
  private readonly scratch = new Uint32Array(8);

  get size(): number {
    return this.map.size;
  }

  get flowsSeen(): number {
    return this.nextId - 1;
  }

  /**
   * The connection of this packet, or undefined. With `create`, a missing
   * one is made (only SYNs and data segments create connections, so a late
   * ACK after a close does not resurrect one).
   */
  lookup(p: TcpPacket, buf: Buffer, create: boolean): Conn | undefined {
    const words = p.addrLen / 4;
    const s = this.scratch;
    for (let i = 0; i < words; i++) {
      s[i] = buf.readUInt32BE(p.srcAt + i * 4);
      s[4 + i] = buf.readUInt32BE(p.dstAt + i * 4);
    }
    // Which endpoint is lower: compare addresses, then ports.
    let cmp = 0;
    for (let i = 0; i < words && cmp === 0; i++) cmp = s[i]! < s[4 + i]! ? -1 : s[i]! > s[4 + i]! ? 1 : 0;
    if (cmp === 0) cmp = p.srcPort < p.dstPort ? -1 : p.srcPort > p.dstPort ? 1 : 0;
    const srcIsA = cmp <= 0;
    const aOff = srcIsA ? 0 : 4;
    const bOff = srcIsA ? 4 : 0;
    const portA = srcIsA ? p.srcPort : p.dstPort;
    const portB = srcIsA ? p.dstPort : p.srcPort;
    let h = (portA * 65536 + portB) | 0;
    for (let i = 0; i < words; i++) {
      h = Math.imul(h ^ s[aOff + i]!, 0x9e3779b1);
      h = Math.imul(h ^ s[bOff + i]!, 0x85ebca77);
    }
    h = (h ^ (h >>> 15)) | 0;
    this.dir = srcIsA ? 0 : 1;
    const found = this.map.get(h);
    if (found !== undefined) {
      if (!Array.isArray(found)) {
        if (same(found, s, aOff, bOff, words, portA, portB)) return found;
      } else {
        for (const c of found) if (same(c, s, aOff, bOff, words, portA, portB)) return c;
      }
    }
    if (!create) return undefined;
    const w = new Uint32Array(words * 2);
    for (let i = 0; i < words; i++) {
      w[i] = s[aOff + i]!;
      w[words + i] = s[bOff + i]!;
    }
    const conn = new Conn(
      this.nextId++,
      h,
      w,
      portA,
      portB,
      buf,
      srcIsA ? p.srcAt : p.dstAt,
      srcIsA ? p.dstAt : p.srcAt,
      p.addrLen,
    );
    if (found === undefined) this.map.set(h, conn);
    else if (Array.isArray(found)) found.push(conn);
    else this.map.set(h, [found, conn]);
    return conn;
  }

  remove(conn: Conn): void {
    const found = this.map.get(conn.hash);
    if (found === conn) this.map.delete(conn.hash);
    else if (Array.isArray(found)) {
      const i = found.indexOf(conn);
      if (i >= 0) found.splice(i, 1);
      if (found.length === 1) this.map.set(conn.hash, found[0]!);
    }
  }

  *all(): Iterable<Conn> {
    for (const v of this.map.values()) {
      if (Array.isArray(v)) yield* v;
      else yield v;
    }
  }
}

function same(
  c: Conn,
  s: Uint32Array,
  aOff: number,
  bOff: number,
  words: number,
  portA: number,
  portB: number,
): boolean {
  if (c.portA !== portA || c.portB !== portB || c.words.length !== words * 2) return false;
  for (let i = 0; i < words; i++) {
    if (c.words[i] !== s[aOff + i] || c.words[words + i] !== s[bOff + i]) return false;
  }
  return true;
}
