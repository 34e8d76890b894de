import type { CapturedPacket } from "./packet.js";

/**
 * Batches of captured packets, from the thread that reads a capture to the
 * workers that analyse its flows. Each worker gets one record per packet, in
 * capture order: the packet whole when its flow is the worker's, else only
 * its frame and time (every worker's clock moves with every packet).
 *
 *   record:  kind u8 | frame f64 | tNs f64 | (kind 1 only:) linkType u16 | capLen u32 | origLen u32 | bytes
 *
 * A batch is one ArrayBuffer, transferred (not copied) to the worker, and
 * not touched by the reader after that.
 */
const KIND_TIME = 0;
const KIND_PACKET = 1;
const TIME_RECORD = 17;
const PACKET_HEADER = 27;
/** A batch holds at least one packet of the largest size a reader accepts (MAX_RECORD_BYTES). */
export const BATCH_BYTES = 4 * 1024 * 1024;

/** Fills batches for one worker; `post` hands over a full one (`used` bytes of `buf`). */
export class BatchWriter {
  private buf = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private at = 0;

  constructor(private readonly post: (buf: ArrayBuffer, used: number) => void) {}

  time(frame: number, tNs: number): void {
    if (this.at + TIME_RECORD > BATCH_BYTES) this.flush();
    const b = this.buf;
    let i = this.at;
    b[i] = KIND_TIME;
    b.writeDoubleLE(frame, i + 1);
    b.writeDoubleLE(tNs, i + 9);
    i += TIME_RECORD;
    this.at = i;
  }

  packet(pk: CapturedPacket): void {
    if (this.at + PACKET_HEADER + pk.capLen > BATCH_BYTES) this.flush();
    const b = this.buf;
    const i = this.at;
    b[i] = KIND_PACKET;
    b.writeDoubleLE(pk.frame, i + 1);
    b.writeDoubleLE(pk.tNs, i + 9);
    b.writeUInt16LE(pk.linkType, i + 17);
    b.writeUInt32LE(pk.capLen, i + 19);
    b.writeUInt32LE(pk.origLen, i + 23);
    pk.data.copy(b, i + PACKET_HEADER, pk.offset, pk.offset + pk.capLen);
    this.at = i + PACKET_HEADER + pk.capLen;
  }

  /** Hands over what the batch holds (nothing when empty) and starts a new one. */
  flush(): void {
    if (this.at === 0) return;
    this.post(this.buf.buffer, this.at);
    this.buf = Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.at = 0;
  }
}

/** What a batch's records are handed to. */
export interface BatchSink {
  onPacket(pk: CapturedPacket): void;
  passPacket(frame: number, tNs: number): void;
}

/** Reads a batch into `sink`, through one reused packet record whose `data` views the batch. */
export function readBatch(batch: ArrayBuffer, used: number, pk: CapturedPacket, sink: BatchSink): void {
  const b = Buffer.from(batch, 0, used);
  let i = 0;
  while (i < used) {
    const frame = b.readDoubleLE(i + 1);
    const tNs = b.readDoubleLE(i + 9);
    if (b[i] === KIND_TIME) {
      sink.passPacket(frame, tNs);
      i += TIME_RECORD;
      continue;
    }
    pk.frame = frame;
    pk.tNs = tNs;
    pk.linkType = b.readUInt16LE(i + 17);
    pk.capLen = b.readUInt32LE(i + 19);
    pk.origLen = b.readUInt32LE(i + 23);
    pk.data = b;
    pk.offset = i + PACKET_HEADER;
    sink.onPacket(pk);
    i += PACKET_HEADER + pk.capLen;
  }
}
