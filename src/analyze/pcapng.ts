import { CarryBuffer } from "../util/carry-buffer.js";
import { McdiagError } from "../util/errors.js";
import { u16, u32 } from "./byte-order.js";
import { newCapturedPacket, noteLinkType, type CaptureInfo, type CapturedPacket, type PacketSink } from "./packet.js";

/**
 * pcapng: a sequence of blocks, each `type(4) length(4) body length(4)`,
 * in the byte order its Section Header Block declares. Sections restart the
 * interface list. We read SHB, IDB (link type, if_tsresol, if_tsoffset),
 * EPB, SPB and the obsolete PB; every other block is skipped without being
 * buffered.
 */
const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const PB = 0x00000002;
const SPB = 0x00000003;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Blocks we must hold whole are bounded; larger ones mean damage. */
const MAX_HELD_BLOCK = 16 * 1024 * 1024;

interface Iface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second (10^6 unless if_tsresol says otherwise). */
  unitsPerSec: number;
  tsOffsetSec: number;
  /** First packet of this interface: its raw timestamp and its time since the file's first packet. */
  baseHigh: number;
  baseLow: number;
  baseNs: number;
  based: boolean;
}

export class PcapngReader {
  private readonly input = new CarryBuffer(512 * 1024);
  private readonly p: CapturedPacket;
  private little = true;
  private inSection = false;
  private ifaces: Iface[] = [];
  private offset = 0;
  private skip = 0;
  private stopped = false;
  private fileBaseNs: bigint | undefined;
  private unknownIfaceWarned = false;

  constructor(
    private readonly sink: PacketSink,
    private readonly info: CaptureInfo,
    private readonly file: string,
  ) {
    this.p = newCapturedPacket();
    info.format = "pcapng";
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    const c = this.input;
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length);
      this.skip -= n;
      this.offset += n;
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    c.append(chunk);
    while (!this.stopped && c.end - c.start >= 12) {
      const buf = c.buf;
      const at = c.start;
      const type = buf.readUInt32LE(at) === SHB ? SHB : u32(buf, at, this.little);
      if (type === SHB) {
        const bom = buf.readUInt32LE(at + 8);
        if (bom === BYTE_ORDER_MAGIC) this.little = true;
        else if (buf.readUInt32BE(at + 8) === BYTE_ORDER_MAGIC) this.little = false;
        else return this.fail(`section header at byte ${this.offset} has no valid byte-order magic`, true);
      } else if (!this.inSection) {
        return this.fail("first block is not a Section Header Block", true);
      }
      const len = u32(buf, at + 4, this.little);
      if (len < 12 || len % 4 !== 0) return this.fail(`block at byte ${this.offset} has a bad length (${len})`, false);
      const held = type === SHB || type === IDB || type === EPB || type === SPB || type === PB;
      if (!held) {
        // Skip without buffering, however large.
        const have = c.end - at;
        if (have >= len) {
          c.consume(len);
          this.offset += len;
        } else {
          this.skip = len - have;
          this.offset += have;
          c.clear();
          return;
        }
        continue;
      }
      if (len > MAX_HELD_BLOCK) return this.fail(`block at byte ${this.offset} claims ${len} bytes`, false);
      if (c.end - at < len) break;
      if (u32(buf, at + len - 4, this.little) !== len) {
        return this.fail(`block at byte ${this.offset} has mismatched lengths`, false);
      }
      this.block(type, buf, at, len);
      c.consume(len);
      this.offset += len;
    }
    c.settle();
  }

  end(): void {
    if (this.stopped) return;
    if (!this.inSection)
      throw new McdiagError("BAD_INPUT", `${this.file}: file ends inside the first pcapng block`, { file: this.file });
    if (this.input.available > 0 || this.skip > 0) {
      this.info.warnings.push(
        `${this.file}: file ends inside a block at byte ${this.offset} (cut short); analysed the ${this.info.packets} packets before it`,
      );
    }
  }

  private block(type: number, buf: Buffer, at: number, len: number): void {
    const L = this.little;
    switch (type) {
      case SHB: {
        const major = u16(buf, at + 12, L);
        if (major !== 1)
          return this.fail(
            `pcapng version ${major}.${u16(buf, at + 14, L)} is not supported (1.x is)`,
            !this.inSection,
          );
        this.inSection = true;
        this.ifaces = [];
        return;
      }
      case IDB:
        return this.interfaceBlock(buf, at, len);
      case EPB:
        return this.timedPacket(u32(buf, at + 8, L), buf, at, len);
      case SPB: {
        const orig = u32(buf, at + 8, L);
        const room = len - 16;
        const snap = this.ifaces[0]?.snaplen || room;
        const capLen = Math.min(orig, room, snap);
        // A simple packet has no timestamp: it takes the interface's last known time.
        return this.packet(0, -1, -1, buf, at + 12, capLen, orig);
      }
      case PB: // obsolete: a 16-bit interface id (and a drop count), then the same layout as EPB
        return this.timedPacket(u16(buf, at + 8, L), buf, at, len);
    }
  }

  private interfaceBlock(buf: Buffer, at: number, len: number): void {
    const L = this.little;
    const iface: Iface = {
      linkType: u16(buf, at + 8, L),
      snaplen: u32(buf, at + 12, L),
      unitsPerSec: 1e6,
      tsOffsetSec: 0,
      baseHigh: 0,
      baseLow: 0,
      baseNs: 0,
      based: false,
    };
    // Options: code(2) length(2) value, padded to 4; code 0 ends them.
    let o = at + 16;
    const end = at + len - 4;
    while (o + 4 <= end) {
      const code = u16(buf, o, L);
      const olen = u16(buf, o + 2, L);
      if (code === 0 || o + 4 + olen > end) break;
      if (code === 9 && olen >= 1) {
        const v = buf[o + 4]!;
        iface.unitsPerSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
      } else if (code === 14 && olen >= 8) {
        iface.tsOffsetSec = Number(L ? buf.readBigInt64LE(o + 4) : buf.readBigInt64BE(o + 4));
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.ifaces.push(iface);
    noteLinkType(this.info, iface.linkType);
    const res = resolutionName(iface.unitsPerSec);
    const info = this.info;
    if (info.timestampResolution === undefined) info.timestampResolution = res;
    else if (info.timestampResolution !== res && !info.timestampResolution.includes(res))
      info.timestampResolution += `,${res}`;
  }

  /** An enhanced (or obsolete) packet block: timestamp, captured and original length, then the data at +28. */
  private timedPacket(id: number, buf: Buffer, at: number, len: number): void {
    const L = this.little;
    const capLen = u32(buf, at + 20, L);
    if (28 + capLen + 4 > len)
      return this.fail(`packet block at byte ${this.offset} claims ${capLen} bytes beyond its block`, false);
    return this.packet(id, u32(buf, at + 12, L), u32(buf, at + 16, L), buf, at + 28, capLen, u32(buf, at + 24, L));
  }

  private packet(
    id: number,
    high: number,
    low: number,
    buf: Buffer,
    dataAt: number,
    capLen: number,
    orig: number,
  ): void {
    const info = this.info;
    const iface = this.ifaces[id];
    info.packets++; // frames count every packet block, as Wireshark numbers them
    if (iface === undefined) {
      if (!this.unknownIfaceWarned) {
        info.warnings.push(
          `${this.file}: packet at byte ${this.offset} names interface ${id}, which no Interface Description Block declared; skipped`,
        );
        this.unknownIfaceWarned = true;
      }
      return;
    }
    const p = this.p;
    if (high >= 0) {
      if (!iface.based) this.baseInterface(iface, high, low);
      // Exact while the distance from the interface's first packet stays under 2^53 units.
      const units = (high - iface.baseHigh) * 4294967296 + (low - iface.baseLow);
      p.tNs = iface.baseNs + (units * 1e9) / iface.unitsPerSec;
    }
    if (capLen < orig) info.truncatedPackets++;
    p.frame = info.packets;
    p.linkType = iface.linkType;
    p.data = buf;
    p.offset = dataAt;
    p.capLen = capLen;
    p.origLen = orig < capLen ? capLen : orig;
    this.sink.onPacket(p);
  }

  /** Pins an interface's clock to the file's: BigInt once per interface, never per packet. */
  private baseInterface(iface: Iface, high: number, low: number): void {
    const units = (BigInt(high) << 32n) | BigInt(low);
    const absNs =
      (units * 1_000_000_000n) / BigInt(Math.round(iface.unitsPerSec)) + BigInt(iface.tsOffsetSec) * 1_000_000_000n;
    if (this.fileBaseNs === undefined) {
      this.fileBaseNs = absNs;
      this.info.firstPacketEpochSec = Number(absNs / 1000n) / 1e6;
      this.info.firstPacketEpochNs = absNs;
    }
    iface.baseHigh = high;
    iface.baseLow = low;
    iface.baseNs = Number(absNs - this.fileBaseNs);
    iface.based = true;
  }

  private fail(why: string, unreadable: boolean): void {
    this.stopped = true;
    this.input.clear();
    if (unreadable)
      throw new McdiagError("BAD_INPUT", `${this.file}: ${why}`, { file: this.file, offset: this.offset });
    this.info.warnings.push(
      `${this.file}: ${why}: the file is damaged there; analysed the ${this.info.packets} packets before it`,
    );
  }
}

function resolutionName(unitsPerSec: number): string {
  if (unitsPerSec === 1e6) return "us";
  if (unitsPerSec === 1e9) return "ns";
  if (unitsPerSec === 1e3) return "ms";
  if (unitsPerSec === 1) return "s";
  const log10 = Math.log10(unitsPerSec);
  return Number.isInteger(log10) ? `10^-${log10} s` : `2^-${Math.log2(unitsPerSec)} s`;
}
