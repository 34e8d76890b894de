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
