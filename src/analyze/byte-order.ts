/**
 * Capture files choose their byte order per file (pcap) or per section
 * (pcapng); packet headers are big-endian. Readers hold a `little` flag and
 * read through these helpers.
 */
export function u16(buf: Buffer, at: number, little: boolean): number {
  return little ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
}

export function u32(buf: Buffer, at: number, little: boolean): number {
  return little ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
}

/**
 * Big-endian (network order) fields of packet headers whose length the
 * caller has checked: read byte by byte, with no bounds check of their own
 * (Buffer#readUInt16BE/32BE validate the offset on every call, per field of
 * every packet).
 */
export function be16(buf: Buffer, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

export function be32(buf: Buffer, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}
