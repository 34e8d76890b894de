import { EventEmitter } from "node:events";
import pcapParser, { type GlobalHeader, type PacketHeader } from "pcap-parser";
import { CarryBuffer } from "../util/carry-buffer.js";
import { McdiagError } from "../util/errors.js";
import { u16, u32 } from "./byte-order.js";
import { MAX_RECORD_BYTES, newCapturedPacket, noteLinkType, type CaptureInfo, type PacketSink } from "./packet.js";

/**
 * Classic pcap (libpcap 2.4). Magic a1b2c3d4 means microsecond timestamps,
 * a1b23c4d nanoseconds; written in the capturing machine's byte order, so
 * both orders occur.
 *
 *   global header (24): magic, major, minor, thiszone, sigfigs, snaplen, linktype
 *   record header (16): ts_sec, ts_frac, incl_len, orig_len, then incl_len bytes
 */
export const PCAP_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

export interface PcapHeader {
  little: boolean;
  nano: boolean;
  snaplen: number;
  linkType: number;
}

/** Reads the global header; throws BAD_INPUT for an unsupported version. `buf` holds ≥ 24 bytes. */
export function readPcapHeader(buf: Buffer, at: number, file: string): PcapHeader {
  const be = buf.readUInt32BE(at);
  let little: boolean;
  let nano: boolean;
  if (be === 0xa1b2c3d4 || be === 0xa1b23c4d) {
    little = false;
    nano = be === 0xa1b23c4d;
  } else {
    const le = buf.readUInt32LE(at);
    little = true;
    nano = le === 0xa1b23c4d;
  }
  const major = u16(buf, at + 4, little);
  const minor = u16(buf, at + 6, little);
  if (major !== 2 || minor > 4) {
    throw new McdiagError("BAD_INPUT", `${file}: pcap version ${major}.${minor} is not supported (2.4 is)`, {
      file,
      offset: 4,
    });
  }
  return { little, nano, snaplen: u32(buf, at + 16, little), linkType: u32(buf, at + 20, little) & 0xffff };
}

/** Limit on one record's length: the file's snaplen when larger than libpcap's maximum, within reason. */
function recordLimit(snaplen: number): number {
  return Math.min(Math.max(MAX_RECORD_BYTES, snaplen), 16 * 1024 * 1024);
}

function damaged(info: CaptureInfo, file: string, offset: number, claimed: number, limit: number): void {
  info.warnings.push(
    `${file}: record at byte ${offset} claims ${claimed} bytes (limit ${limit}): the file is damaged there; ` +
      `analysed the ${info.packets} packets before it`,
  );
}

function cutShort(info: CaptureInfo, file: string, offset: number): void {
  info.warnings.push(
    `${file}: file ends inside a packet record at byte ${offset} (cut short); analysed the ${info.packets} packets before it`,
  );
}

/**
 * Hands classic-pcap records to the sink in one reused packet record, timed
 * from the file's first record. Both classic readers emit through it.
 */
class RecordEmitter {
  readonly p = newCapturedPacket();
  private baseSec = 0;
  private baseFracNs = 0;

  constructor(
    private readonly sink: PacketSink,
    private readonly info: CaptureInfo,
  ) {}

  emit(sec: number, fracNs: number, data: Buffer, offset: number, incl: number, orig: number): void {
    const info = this.info;
    if (info.packets === 0) {
      this.baseSec = sec;
      this.baseFracNs = fracNs;
      info.firstPacketEpochSec = sec + fracNs / 1e9;
      info.firstPacketEpochNs = BigInt(sec) * 1_000_000_000n + BigInt(fracNs);
    }
    info.packets++;
    if (incl < orig) info.truncatedPackets++;
    const p = this.p;
    p.frame = info.packets;
    p.tNs = (sec - this.baseSec) * 1e9 + (fracNs - this.baseFracNs);
    p.data = data;
    p.offset = offset;
    p.capLen = incl;
    p.origLen = orig < incl ? incl : orig;
    this.sink.onPacket(p);
  }
}

/**
 * mcdiag's own reader for what pcap-parser does not read: nanosecond pcap
 * (magic a1b23c4d), either byte order. Records are parsed in place from a
 * carry-over buffer, with no object per packet; a record is emitted only once
 * complete, and a record length beyond the limit stops the read (no
 * allocation sized by a corrupt field).
 */
export class PcapReader {
  private readonly input = new CarryBuffer(512 * 1024);
  private readonly out: RecordEmitter;
  private header: PcapHeader | undefined;
  private offset = 0; // file offset of input.start
  private stopped = false;

  constructor(
    sink: PacketSink,
    private readonly info: CaptureInfo,
    private readonly file: string,
  ) {
    this.out = new RecordEmitter(sink, info);
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    const c = this.input;
    c.append(chunk);
    if (this.header === undefined) {
      if (c.available < PCAP_HEADER_BYTES) return c.settle();
      this.header = readPcapHeader(c.buf, c.start, this.file);
      this.info.format = "pcap";
      this.info.timestampResolution = this.header.nano ? "ns" : "us";
      noteLinkType(this.info, this.header.linkType);
      this.out.p.linkType = this.header.linkType;
      c.consume(PCAP_HEADER_BYTES);
      this.offset += PCAP_HEADER_BYTES;
    }
    const h = this.header;
    const limit = recordLimit(h.snaplen);
    const fracToNs = h.nano ? 1 : 1000;
    while (c.end - c.start >= RECORD_HEADER_BYTES) {
      const buf = c.buf;
      const at = c.start;
      const incl = u32(buf, at + 8, h.little);
      if (incl > limit) {
        damaged(this.info, this.file, this.offset, incl, limit);
        this.stopped = true;
        c.clear();
        return;
      }
      if (c.end - at < RECORD_HEADER_BYTES + incl) break;
      this.out.emit(
        u32(buf, at, h.little),
        u32(buf, at + 4, h.little) * fracToNs,
        buf,
        at + RECORD_HEADER_BYTES,
        incl,
        u32(buf, at + 12, h.little),
      );
      c.consume(RECORD_HEADER_BYTES + incl);
      this.offset += RECORD_HEADER_BYTES + incl;
    }
    c.settle();
  }

  end(): void {
    if (this.stopped) return;
    if (this.header === undefined) {
      throw new McdiagError(
        "BAD_INPUT",
        `${this.file}: file ends inside the pcap header (${this.input.available} bytes)`,
        { file: this.file },
      );
    }
    if (this.input.available > 0) cutShort(this.info, this.file, this.offset);
  }
}

/** The stand-in stream pcap-parser reads from: chunks are emitted into it synchronously. */
type Feed = EventEmitter & { pause(): void; resume(): void };

/**
 * Classic microsecond pcap, either byte order, through pcap-parser. It is fed
 * chunks through a stand-in stream, so each chunk is parsed before push()
 * returns and parsing stays in step with the pipeline. Its weak spot,
 * buffering without bound while it awaits the body of a record that claims a
 * huge length, is closed by checking each record header (its `packetHeader`
 * event) before the body is awaited: a length beyond the limit stops the
 * read. The header record the library makes is kept by reference until its
 * body arrives.
 *
 * Its events are taken by a dispatch of our own put in place of the parser's
 * `emit`: EventEmitter's emit gathers its arguments into an array and looks
 * the listeners up, for each of the three events of every packet (the third,
 * `packet`, has nothing to do here and is dropped at once).
 */
export class PcapParserReader {
  private readonly feed: Feed;
  private readonly out: RecordEmitter;
  private stopped = false;
  /** Bytes fed in, and bytes of complete records (and the global header) parsed out. */
  private fed = 0;
  private consumed = 0;
  private limit = MAX_RECORD_BYTES;
  private pending: PacketHeader | undefined;
  private headerSeen = false;

  constructor(
    sink: PacketSink,
    private readonly info: CaptureInfo,
    private readonly file: string,
  ) {
    this.out = new RecordEmitter(sink, info);
    this.feed = Object.assign(new EventEmitter(), { pause() {}, resume() {} });
    const parser = pcapParser.parse(this.feed);
    parser.emit = (event: string | symbol, arg?: unknown): boolean => {
      if (event === "packetData") this.onData(arg as Buffer);
      else if (event === "packetHeader") this.onHeader(arg as PacketHeader);
      else if (event === "globalHeader") this.onGlobalHeader(arg as GlobalHeader);
      else if (event === "error") this.onError(arg as Error);
      return true;
    };
  }

  private onGlobalHeader(h: GlobalHeader): void {
    this.headerSeen = true;
    this.consumed = PCAP_HEADER_BYTES;
    this.limit = recordLimit(h.snapshotLength);
    const linkType = h.linkLayerType & 0xffff;
    this.out.p.linkType = linkType;
    this.info.format = "pcap";
    this.info.timestampResolution = "us";
    noteLinkType(this.info, linkType);
  }

  private onHeader(h: PacketHeader): void {
    if (this.stopped) return;
    if (h.capturedLength > this.limit) {
      damaged(this.info, this.file, this.consumed, h.capturedLength, this.limit);
      this.stopped = true;
      return;
    }
    this.pending = h;
  }

  private onData(data: Buffer): void {
    const h = this.pending;
    if (this.stopped || h === undefined) return;
    this.consumed += RECORD_HEADER_BYTES + data.length;
    this.out.emit(h.timestampSeconds, h.timestampMicroseconds * 1000, data, 0, data.length, h.originalLength);
  }

  private onError(err: Error): void {
    this.stopped = true;
    throw new McdiagError("BAD_INPUT", `${this.file}: ${err.message}`, { file: this.file });
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    this.fed += chunk.length;
    this.feed.emit("data", chunk);
  }

  end(): void {
    if (this.stopped) return;
    if (!this.headerSeen) {
      throw new McdiagError("BAD_INPUT", `${this.file}: file ends inside the pcap header (${this.fed} bytes)`, {
        file: this.file,
      });
    }
    if (this.fed > this.consumed) cutShort(this.info, this.file, this.consumed);
  }
}
