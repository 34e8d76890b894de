import { McdiagError } from "../util/errors.js";
import { PCAP_HEADER_BYTES, PcapParserReader, PcapReader, readPcapHeader } from "./pcap.js";
import { PcapngReader } from "./pcapng.js";
import { newCaptureInfo, type CaptureInfo, type PacketSink } from "./packet.js";

interface Reader {
  push(chunk: Buffer): void;
  end(): void;
}

/**
 * Recognises the format from the first bytes and hands the stream to the
 * reader for it: pcap-parser for classic microsecond pcap, mcdiag's own
 * readers for nanosecond pcap and pcapng.
 */
export class CaptureReader {
  readonly info: CaptureInfo = newCaptureInfo();
  private inner: Reader | undefined;
  private head: Buffer[] = [];
  private headBytes = 0;

  constructor(
    private readonly sink: PacketSink,
    private readonly file: string,
  ) {}

  push(chunk: Buffer): void {
    if (this.inner !== undefined) return this.inner.push(chunk);
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < PCAP_HEADER_BYTES) return;
    const first = Buffer.concat(this.head);
    this.head = [];
    this.inner = this.choose(first);
    this.inner.push(first);
  }

  end(): void {
    if (this.inner === undefined) {
      if (this.headBytes === 0)
        throw new McdiagError("BAD_INPUT", `${this.file}: empty file, not a capture`, { file: this.file });
      const first = Buffer.concat(this.head);
      // A pcapng file may legally be this short only if it is broken; say which.
      this.inner = this.choose(first);
      this.inner.push(first);
    }
    this.inner.end();
  }

  private choose(first: Buffer): Reader {
    if (first.length < 4) throw notCapture(this.file, first);
    const be = first.readUInt32BE(0);
    const le = first.readUInt32LE(0);
    if (be === 0x0a0d0d0a) return new PcapngReader(this.sink, this.info, this.file);
    const pcapMagic = (m: number) => m === 0xa1b2c3d4 || m === 0xa1b23c4d;
    if (pcapMagic(be) || pcapMagic(le)) {
      if (first.length < PCAP_HEADER_BYTES) {
        throw new McdiagError("BAD_INPUT", `${this.file}: file ends inside the pcap header (${first.length} bytes)`, {
          file: this.file,
        });
      }
      // An unsupported version fails here, before any packet.
      const h = readPcapHeader(first, 0, this.file);
      return h.nano
        ? new PcapReader(this.sink, this.info, this.file)
        : new PcapParserReader(this.sink, this.info, this.file);
    }
    throw notCapture(this.file, first);
  }
}

function notCapture(file: string, first: Buffer): McdiagError {
  const hex = first.subarray(0, 4).toString("hex").replace(/(..)/g, "$1 ").trim();
  return new McdiagError("BAD_INPUT", `${file}: not a pcap or pcapng capture (starts with ${hex || "nothing"})`, {
    file,
  });
}
