import { formatAddress } from "./address.js";
import { be16, be32 } from "./byte-order.js";
import type { TcpPacket } from "./decode.js";
import { HalfStream } from "./reassembly.js";
import type { McSession } from "./session.js";
import type { UdpSession } from "./udp.js";
import type { FlowStats } from "./aggregate.js";

export const KIND_UNKNOWN = 0;
export const KIND_MEMCACHED = 1;
export const KIND_OTHER = 2;

/** Finished flow records kept for reuse. */
const MAX_SPARE = 4096;

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/**
 * One TCP connection or UDP flow, both directions. Endpoint A is the lower
 * of the two (address, port) pairs, so both directions find the same
 * object; `dir` 0 is A → B.
 *
 * Memory: a flow costs this object and, once it carries data, one
 * HalfStream per direction; memcached flows add their session and counts.
 * Addresses are kept as numbers (IPv6's last three words of each side in
 * `v6`), and names are made only when a report asks. Fields are made by
 * reset() (`declare`d, as in HalfStream: a number field never starts undefined).
 */
export class Conn {
  declare id: number;
  declare hash: number;
  declare proto: number;
  /** IPv4 address of A and B, or the first word of each IPv6 address (as int32: small integers cost no memory of their own). */
  declare a: number;
  declare b: number;
  /** IPv6 only: words 1–3 of A, then of B. */
  declare v6: Uint32Array | undefined;
  declare portA: number;
  declare portB: number;
  declare kind: number;
  /** Direction the client sends in, once known. */
  declare clientDir: 0 | 1 | -1;
  private h0: HalfStream | undefined;
  private h1: HalfStream | undefined;
  declare session: McSession | undefined;
  declare udp: UdpSession | undefined;
  declare stats: FlowStats | undefined;
  /** A session and counts from an earlier use of this record, kept for reuse (see FlowTable's recycling). */
  spareSession: McSession | undefined;
  spareStats: FlowStats | undefined;
  /** Payload packets seen while the kind was still unknown (no handshake, no known port, no telling content). */
  declare classifyTries: number;
  /** When the flow was last active, on the analysis' eviction clock (which never runs back). */
  declare lastTNs: number;
  /** The frame that last touched it: the table's activity order, by which a parallel analysis orders flows finished together. */
  declare lastFrame: number;
  declare closed: boolean;
  /** Activity order in the table: the least recently active flow is evicted first. */
  older: Conn | undefined;
  newer: Conn | undefined;

  constructor(
    id: number,
    hash: number,
    proto: number,
    a: number,
    b: number,
    v6: Uint32Array | undefined,
    portA: number,
    portB: number,
  ) {
    this.reset(id, hash, proto, a, b, v6, portA, portB);
  }

  /** A new flow in this record: everything from an earlier use is forgotten (its objects kept for reuse). */
  reset(
    id: number,
    hash: number,
    proto: number,
    a: number,
    b: number,
    v6: Uint32Array | undefined,
    portA: number,
    portB: number,
  ): this {
    this.id = id;
    this.hash = hash;
    this.proto = proto;
    this.a = a;
    this.b = b;
    this.v6 = v6;
    this.portA = portA;
    this.portB = portB;
    this.kind = KIND_UNKNOWN;
    this.clientDir = -1;
    this.classifyTries = 0;
    this.h0?.reset(0);
    this.h1?.reset(1);
    if (this.session !== undefined) this.spareSession = this.session;
    if (this.stats !== undefined && this.stats.transport === "tcp") this.spareStats = this.stats;
    this.session = undefined;
    this.udp = undefined;
    this.stats = undefined;
    this.lastTNs = 0;
    this.lastFrame = 0;
    this.closed = false;
    this.older = undefined;
    this.newer = undefined;
    return this;
  }

  /** The reassembly state of one direction, made when first needed. */
  half(dir: 0 | 1): HalfStream {
    if (dir === 0) return (this.h0 ??= new HalfStream(0));
    return (this.h1 ??= new HalfStream(1));
  }

  /** Both directions (made if missing), for a session that needs its peer's ACKs. */
  halves(): [HalfStream, HalfStream] {
    return [this.half(0), this.half(1)];
  }

  /** The directions that exist, without making any. */
  existingHalves(): HalfStream[] {
    const out: HalfStream[] = [];
    if (this.h0 !== undefined) out.push(this.h0);
    if (this.h1 !== undefined) out.push(this.h1);
    return out;
  }

  /** "10.0.0.5:51234" for endpoint A (0) or B (1). */
  name(end: 0 | 1): string {
    const first = end === 0 ? this.a : this.b;
    const v = this.v6;
    const words = v === undefined ? [first] : end === 0 ? [first, v[0]!, v[1]!, v[2]!] : [first, v[3]!, v[4]!, v[5]!];
    return formatAddress(words, end === 0 ? this.portA : this.portB);
  }
}

/**
 * Finds the flow of a packet without allocating: a numeric hash of the
 * protocol and canonical 4-tuple, collisions resolved by comparing
 * addresses. Keeps flows in activity order for eviction.
 */
export class FlowTable {
  private readonly map = new Map<number, Conn | Conn[]>();
  /**
   * Records of finished flows, for the next new ones. Long-lived flows are
   * old-generation objects to V8, which lets the heap grow to several times
   * what is live before collecting such garbage; recycling them keeps memory
   * at what the open flows need.
   */
  private readonly spare: Conn[] = [];
  private nextId = 1;
  private count = 0;
  /** Least and most recently active flows. */
  oldest: Conn | undefined;
  private newest: Conn | undefined;
  /** Set by lookup: the packet's direction within the flow. */
  dir: 0 | 1 = 0;
  private readonly scratch = new Uint32Array(8);

  get size(): number {
    return this.count;
  }

  get flowsSeen(): number {
    return this.nextId - 1;
  }

  /**
   * The flow of this packet, or undefined. With `create`, a missing one is
   * made (only SYNs and data segments create TCP connections, so a late ACK
   * after a close does not resurrect one).
   */
  lookup(p: TcpPacket, buf: Buffer, create: boolean, proto: number): Conn | undefined {
    const words = p.addrLen / 4;
    const s = this.scratch;
    for (let i = 0; i < words; i++) {
      s[i] = be32(buf, p.srcAt + i * 4);
      s[4 + i] = be32(buf, p.dstAt + i * 4);
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
    let h = (portA * 65536 + portB + proto) | 0;
    for (let i = 0; i < words; i++) {
      h = Math.imul(h ^ s[aOff + i]!, 0x9e3779b1);
      h = Math.imul(h ^ s[bOff + i]!, 0x85ebca77);
    }
    h = (h ^ (h >>> 15)) | 0;
    this.dir = srcIsA ? 0 : 1;
    const found = this.map.get(h);
    if (found !== undefined) {
      if (!Array.isArray(found)) {
        if (same(found, proto, s, aOff, bOff, words, portA, portB)) return found;
      } else {
        for (const c of found) if (same(c, proto, s, aOff, bOff, words, portA, portB)) return c;
      }
    }
    if (!create) return undefined;
    let v6: Uint32Array | undefined;
    if (words === 4) {
      v6 = new Uint32Array(6); // IPv6: rare enough to allocate
      for (let i = 1; i < 4; i++) {
        v6[i - 1] = s[aOff + i]!;
        v6[i + 2] = s[bOff + i]!;
      }
    }
    const a = s[aOff]! | 0;
    const b = s[bOff]! | 0;
    const old = this.spare.pop();
    const conn =
      old !== undefined
        ? old.reset(this.nextId++, h, proto, a, b, v6, portA, portB)
        : new Conn(this.nextId++, h, proto, a, b, v6, portA, portB);
    if (found === undefined) this.map.set(h, conn);
    else if (Array.isArray(found)) found.push(conn);
    else this.map.set(h, [found, conn]);
    this.count++;
    this.link(conn);
    return conn;
  }

  /** Marks a flow as the most recently active. */
  touch(conn: Conn): void {
    if (this.newest === conn) return;
    this.unlink(conn);
    this.link(conn);
  }

  remove(conn: Conn): void {
    const found = this.map.get(conn.hash);
    if (found === conn) this.map.delete(conn.hash);
    else if (Array.isArray(found)) {
      const i = found.indexOf(conn);
      if (i < 0) return;
      found.splice(i, 1);
      if (found.length === 1) this.map.set(conn.hash, found[0]!);
    } else return;
    this.count--;
    this.unlink(conn);
  }

  /** A finished flow (already removed) whose record may be reused for a new one. */
  recycle(conn: Conn): void {
    if (this.spare.length < MAX_SPARE) this.spare.push(conn);
  }

  *all(): Iterable<Conn> {
    for (let c = this.oldest; c !== undefined; c = c.newer) yield c;
  }

  private link(conn: Conn): void {
    conn.older = this.newest;
    conn.newer = undefined;
    if (this.newest !== undefined) this.newest.newer = conn;
    else this.oldest = conn;
    this.newest = conn;
  }

  private unlink(conn: Conn): void {
    if (conn.older !== undefined) conn.older.newer = conn.newer;
    else if (this.oldest === conn) this.oldest = conn.newer;
    if (conn.newer !== undefined) conn.newer.older = conn.older;
    else if (this.newest === conn) this.newest = conn.older;
    conn.older = undefined;
    conn.newer = undefined;
  }
}

function same(
  c: Conn,
  proto: number,
  s: Uint32Array,
  aOff: number,
  bOff: number,
  words: number,
  portA: number,
  portB: number,
): boolean {
  if (c.portA !== portA || c.portB !== portB || c.proto !== proto) return false;
  if (c.a !== (s[aOff]! | 0) || c.b !== (s[bOff]! | 0)) return false;
  const v = c.v6;
  if (v === undefined) return words === 1;
  if (words !== 4) return false;
  for (let i = 1; i < 4; i++) if (v[i - 1] !== s[aOff + i] || v[i + 2] !== s[bOff + i]) return false;
  return true;
}

/**
 * Which of `of` workers owns a TCP or UDP packet's flow: a hash of the two
 * (address, port) ends that is the same in both directions, mod `of`. Reads
 * only the addresses and ports the decoder located.
 */
export function flowShareOf(p: TcpPacket, buf: Buffer, of: number): number {
  return shareOfEnds(buf, p.srcAt, p.dstAt, p.addrLen, p.srcPort, p.dstPort, of);
}

/**
 * The same for an Ethernet IPv4 TCP or UDP frame read straight from the
 * capture, without decoding it; -1 for any other frame (decode it, then ask
 * flowShareOf). The reader of a parallel analysis does this for every packet.
 */
export function flowShareOfFrame(linkType: number, buf: Buffer, at: number, capLen: number, of: number): number {
  if (linkType !== 1 || capLen < 34 || buf[at + 12] !== 0x08 || buf[at + 13] !== 0x00) return -1;
  const ip = at + 14;
  const ihl = (buf[ip]! & 0x0f) * 4;
  const proto = buf[ip + 9];
  if (buf[ip]! >> 4 !== 4 || ihl < 20 || (proto !== 6 && proto !== 17) || capLen < 14 + ihl + 4) return -1;
  const l4 = ip + ihl;
  return shareOfEnds(buf, ip + 12, ip + 16, 4, be16(buf, l4), be16(buf, l4 + 2), of);
}

function shareOfEnds(
  buf: Buffer,
  srcAt: number,
  dstAt: number,
  addrLen: number,
  srcPort: number,
  dstPort: number,
  of: number,
): number {
  let a = srcPort;
  let b = dstPort;
  for (let i = 0; i < addrLen; i += 4) {
    a = Math.imul(a ^ be32(buf, srcAt + i), 0x9e3779b1);
    b = Math.imul(b ^ be32(buf, dstAt + i), 0x9e3779b1);
  }
  let h = (a + b) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) % of;
}
