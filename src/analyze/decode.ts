/**
 * Decodes link, IP and TCP headers of one packet into a reused scratch
 * record, checking every length before reading. Nothing is allocated per
 * packet: addresses stay in the capture buffer (`addrAt`), and the payload
 * is an offset range, valid only during the packet's callback.
 */

import { be16, be32 } from "./byte-order.js";

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LOOP = 108;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_IPV6 = 229;
const LINKTYPE_LINUX_SLL2 = 276;

/** Why a packet carries no TCP segment we can use; counted by the caller. */
export const Decoded = {
  Tcp: 0,
  UnknownLink: 1,
  NotIp: 2,
  NotTcp: 3,
  IpFragment: 4,
  /** Headers cut off by snaplen or a short packet. */
  Truncated: 5,
  Malformed: 6,
  /** A UDP datagram (memcached also speaks UDP): ports and payload are filled in, TCP fields are not. */
  Udp: 7,
} as const;
export type Decoded = (typeof Decoded)[keyof typeof Decoded];

export interface TcpPacket {
  ipVersion: 4 | 6;
  /** IPv4 identification field; -1 for IPv6 (which has none outside fragments). */
  ipId: number;
  /** Source and destination addresses in `buf`, 4 or 16 bytes each. */
  srcAt: number;
  dstAt: number;
  addrLen: 4 | 16;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** The advertised receive window as sent (before any window scaling). */
  window: number;
  /** TCP options: buf[optAt, optEnd) (empty when none). */
  optAt: number;
  optEnd: number;
  /** Payload length the IP header announces. */
  payloadLen: number;
  payloadAt: number;
  /** Payload bytes actually captured (< payloadLen when snaplen cut the packet). */
  capturedPayload: number;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export function newTcpPacket(): TcpPacket {
  return {
    ipVersion: 4,
    ipId: -1,
    srcAt: 0,
    dstAt: 0,
    addrLen: 4,
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    optAt: 0,
    optEnd: 0,
    payloadLen: 0,
    payloadAt: 0,
    capturedPayload: 0,
  };
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/** Decodes buf[at, at+capLen) of link type `linkType` into `out`. */
export function decodePacket(linkType: number, buf: Buffer, at: number, capLen: number, out: TcpPacket): Decoded {
  const end = at + capLen;
  let ethertype: number;
  let net = at;
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      if (capLen < 14) return Decoded.Truncated;
      ethertype = be16(buf, at + 12);
      net = at + 14;
      // 802.1Q, 802.1ad (QinQ) and the old 0x9100 tag: 4 bytes each.
      while (ethertype === 0x8100 || ethertype === 0x88a8 || ethertype === 0x9100) {
        if (net + 4 > end) return Decoded.Truncated;
        ethertype = be16(buf, net + 2);
        net += 4;
      }
      break;
    }
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (capLen < 4) return Decoded.Truncated;
      // NULL: the address family in the capturing host's byte order; LOOP: network order.
      let af = linkType === LINKTYPE_LOOP ? be32(buf, at) : buf.readUInt32LE(at);
      if (linkType === LINKTYPE_NULL && af > 0xffff) af = be32(buf, at);
      // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
      ethertype = af === 2 ? ETH_IPV4 : af === 10 || af === 24 || af === 28 || af === 30 ? ETH_IPV6 : 0;
      net = at + 4;
      break;
    }
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6: {
      if (capLen < 1) return Decoded.Truncated;
      const v = buf[at]! >> 4;
      ethertype = v === 4 ? ETH_IPV4 : v === 6 ? ETH_IPV6 : 0;
      break;
    }
    case LINKTYPE_LINUX_SLL: {
      if (capLen < 16) return Decoded.Truncated;
      ethertype = be16(buf, at + 14);
      net = at + 16;
      break;
    }
    case LINKTYPE_LINUX_SLL2: {
      if (capLen < 20) return Decoded.Truncated;
      ethertype = be16(buf, at);
      net = at + 20;
      break;
    }
    default:
      return Decoded.UnknownLink;
  }
  if (ethertype === ETH_IPV4) return decodeIpv4(buf, net, end, out);
  if (ethertype === ETH_IPV6) return decodeIpv6(buf, net, end, out);
  return Decoded.NotIp;
}

function decodeIpv4(buf: Buffer, at: number, end: number, out: TcpPacket): Decoded {
  if (at + 20 > end) return Decoded.Truncated;
  const vihl = buf[at]!;
  if (vihl >> 4 !== 4) return Decoded.Malformed;
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return Decoded.Malformed;
  if (at + ihl > end) return Decoded.Truncated;
  let totalLen = be16(buf, at + 2);
  // 0: a segmentation-offloaded packet captured on the sending host before the NIC filled it in.
  if (totalLen === 0) totalLen = end - at;
  if (totalLen < ihl) return Decoded.Malformed;
  const frag = be16(buf, at + 6);
  if ((frag & 0x2000) !== 0 || (frag & 0x1fff) !== 0) return Decoded.IpFragment;
  const proto = buf[at + 9];
  if (proto !== 6 && proto !== 17) return Decoded.NotTcp;
  out.ipVersion = 4;
  out.ipId = be16(buf, at + 4);
  out.addrLen = 4;
  out.srcAt = at + 12;
  out.dstAt = at + 16;
  // totalLen, not the captured length: Ethernet pads short frames.
  return proto === 6
    ? decodeTcp(buf, at + ihl, at + totalLen, end, out)
    : decodeUdp(buf, at + ihl, at + totalLen, end, out);
}

function decodeIpv6(buf: Buffer, at: number, end: number, out: TcpPacket): Decoded {
  if (at + 40 > end) return Decoded.Truncated;
  if (buf[at]! >> 4 !== 6) return Decoded.Malformed;
  const payloadLen = be16(buf, at + 4);
  let next = buf[at + 6]!;
  let h = at + 40;
  const ipEnd = payloadLen === 0 ? end : at + 40 + payloadLen; // 0: jumbogram, take what was captured
  // Walk extension headers until TCP or UDP.
  for (let hops = 0; next !== 6 && next !== 17; hops++) {
    if (hops > 8) return Decoded.Malformed;
    if (next === 0 || next === 43 || next === 60) {
      if (h + 8 > end) return Decoded.Truncated;
      next = buf[h]!;
      h += (buf[h + 1]! + 1) * 8;
    } else if (next === 51) {
      if (h + 8 > end) return Decoded.Truncated;
      next = buf[h]!;
      h += (buf[h + 1]! + 2) * 4;
    } else if (next === 44) {
      return Decoded.IpFragment;
    } else {
      return Decoded.NotTcp;
    }
  }
  out.ipVersion = 6;
  out.ipId = -1;
  out.addrLen = 16;
  out.srcAt = at + 8;
  out.dstAt = at + 24;
  return next === 6 ? decodeTcp(buf, h, ipEnd, end, out) : decodeUdp(buf, h, ipEnd, end, out);
}

function decodeTcp(buf: Buffer, at: number, ipEnd: number, capEnd: number, out: TcpPacket): Decoded {
  if (at + 20 > capEnd) return Decoded.Truncated;
  const hlen = (buf[at + 12]! >> 4) * 4;
  if (hlen < 20 || at + hlen > ipEnd) return Decoded.Malformed;
  if (at + hlen > capEnd) return Decoded.Truncated;
  out.srcPort = be16(buf, at);
  out.dstPort = be16(buf, at + 2);
  out.seq = be32(buf, at + 4);
  out.ack = be32(buf, at + 8);
  out.flags = buf[at + 13]!;
  out.window = be16(buf, at + 14);
  out.optAt = at + 20;
  out.optEnd = at + hlen;
  out.payloadAt = at + hlen;
  out.payloadLen = ipEnd - out.payloadAt;
  const captured = capEnd - out.payloadAt;
  out.capturedPayload = captured < out.payloadLen ? captured : out.payloadLen;
  return Decoded.Tcp;
}

/** The window-scale shift a SYN's options carry (RFC 7323 option 3, at most 14), or -1 when it has none. */
export function windowScaleOption(buf: Buffer, at: number, end: number): number {
  while (at < end) {
    const kind = buf[at]!;
    if (kind === 0) return -1; // end of options
    if (kind === 1) {
      at++; // no-op padding
      continue;
    }
    if (at + 1 >= end) return -1;
    const len = buf[at + 1]!;
    if (len < 2 || at + len > end) return -1;
    if (kind === 3 && len === 3) return Math.min(buf[at + 2]!, 14);
    at += len;
  }
  return -1;
}

function decodeUdp(buf: Buffer, at: number, ipEnd: number, capEnd: number, out: TcpPacket): Decoded {
  if (at + 8 > capEnd) return Decoded.Truncated;
  const udpLen = be16(buf, at + 4);
  // The UDP length wins when it is consistent; 0 (jumbograms) or nonsense falls back to the IP length.
  const end = udpLen >= 8 && at + udpLen <= ipEnd ? at + udpLen : ipEnd;
  if (end < at + 8) return Decoded.Malformed;
  out.srcPort = be16(buf, at);
  out.dstPort = be16(buf, at + 2);
  out.seq = 0;
  out.ack = 0;
  out.flags = 0;
  out.window = 0;
  out.optAt = at + 8;
  out.optEnd = at + 8;
  out.payloadAt = at + 8;
  out.payloadLen = end - out.payloadAt;
  const captured = capEnd - out.payloadAt;
  out.capturedPayload = captured < out.payloadLen ? captured : out.payloadLen;
  return Decoded.Udp;
}
