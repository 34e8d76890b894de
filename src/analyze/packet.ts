/**
 * One captured packet as readers hand it to the decoder. A single scratch
 * record is reused for every packet: `data` is a view into the reader's
 * buffer, valid only during the `onPacket` call (copy what you keep).
 */
export interface CapturedPacket {
  /** 1-based frame number, as Wireshark numbers the packets of the file. */
  frame: number;
  /** Time since the first packet of the file, ns (exact to 2^53 ns ≈ 104 days). */
  tNs: number;
  linkType: number;
  data: Buffer;
  offset: number;
  /** Bytes captured (may be below origLen when snaplen cut the packet). */
  capLen: number;
  origLen: number;
}

/** The scratch record a reader reuses for every packet. */
export function newCapturedPacket(): CapturedPacket {
  return { frame: 0, tNs: 0, linkType: 0, data: Buffer.alloc(0), offset: 0, capLen: 0, origLen: 0 };
}

export interface PacketSink {
  onPacket(p: CapturedPacket): void;
}

export type CaptureFormat = "pcap" | "pcapng";

/** What a reader learned about the file, with its warnings. */
export interface CaptureInfo {
  format: CaptureFormat | undefined;
  /** "us", "ns", or e.g. "10^-4 s" / "2^-20 s" for unusual pcapng resolutions. */
  timestampResolution: string | undefined;
  linkTypes: number[];
  packets: number;
  /** Packets whose captured length is below their original length. */
  truncatedPackets: number;
  /** Epoch seconds of the first packet, for the report. */
  firstPacketEpochSec: number | undefined;
  /** The same, exact in ns: where the files of a ring buffer are placed on one time line. */
  firstPacketEpochNs: bigint | undefined;
  warnings: string[];
}

export function newCaptureInfo(): CaptureInfo {
  return {
    format: undefined,
    timestampResolution: undefined,
    linkTypes: [],
    packets: 0,
    truncatedPackets: 0,
    firstPacketEpochSec: undefined,
    firstPacketEpochNs: undefined,
    warnings: [],
  };
}

/** Largest packet record accepted; libpcap's own MAXIMUM_SNAPLEN. */
export const MAX_RECORD_BYTES = 262_144;

export function noteLinkType(info: CaptureInfo, linkType: number): void {
  if (!info.linkTypes.includes(linkType)) info.linkTypes.push(linkType);
}
