import { describe, expect, it } from "vitest";
import { Decoded, decodePacket, newTcpPacket } from "../../src/analyze/decode.js";

function tcpHeader(sport: number, dport: number, seq: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq, 4);
  h[12] = 5 << 4;
  h[13] = flags;
  return Buffer.concat([h, payload]);
}

function ipv4(tcp: Buffer, opts: { optionsBytes?: number; frag?: number } = {}): Buffer {
  const ihl = 20 + (opts.optionsBytes ?? 0);
  const h = Buffer.alloc(ihl);
  h[0] = 0x40 | (ihl / 4);
  h.writeUInt16BE(ihl + tcp.length, 2);
  h.writeUInt16BE(opts.frag ?? 0, 6);
  h[9] = 6;
  h.set([10, 0, 0, 1], 12);
  h.set([10, 0, 0, 2], 16);
  return Buffer.concat([h, tcp]);
}

function ipv6(tcp: Buffer, ext: Buffer[] = [], firstNext = 6): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  const payload = Buffer.concat([...ext, tcp]);
  h.writeUInt16BE(payload.length, 4);
  h[6] = firstNext;
  h[23] = 1; // ::1 source
  h[39] = 1;
  return Buffer.concat([h, payload]);
}

const raw = (ip: Buffer) => decodePacket(101, ip, 0, ip.length, out);
const out = newTcpPacket();

describe("decodePacket", () => {
  const payload = Buffer.from("get k\r\n");

  it("finds the TCP payload behind IPv4 options", () => {
    expect(raw(ipv4(tcpHeader(5000, 11211, 7, 0x18, payload), { optionsBytes: 8 }))).toBe(Decoded.Tcp);
    expect([out.srcPort, out.dstPort, out.seq, out.payloadLen, out.capturedPayload]).toEqual([5000, 11211, 7, 7, 7]);
  });

  it("counts IPv4 fragments instead of parsing them", () => {
    expect(raw(ipv4(tcpHeader(1, 2, 0, 0x10, payload), { frag: 0x2000 }))).toBe(Decoded.IpFragment);
    expect(raw(ipv4(tcpHeader(1, 2, 0, 0x10, payload), { frag: 0x0010 }))).toBe(Decoded.IpFragment);
  });

  it("walks IPv6 extension headers to TCP, and counts IPv6 fragments", () => {
    const hopByHop = Buffer.alloc(8);
    hopByHop[0] = 60; // next: destination options
    const destOpts = Buffer.alloc(16);
    destOpts[0] = 6; // next: TCP
    destOpts[1] = 1; // (1 + 1) * 8 bytes
    expect(
      decodePacket(101, ipv6(tcpHeader(40000, 11211, 9, 0x18, payload), [hopByHop, destOpts], 0), 0, 40 + 24 + 27, out),
    ).toBe(Decoded.Tcp);
    expect([out.ipVersion, out.dstPort, out.payloadLen]).toEqual([6, 11211, 7]);
    const frag = Buffer.alloc(8);
    frag[0] = 6;
    const f = ipv6(tcpHeader(1, 2, 0, 0x10, payload), [frag], 44);
    expect(decodePacket(101, f, 0, f.length, out)).toBe(Decoded.IpFragment);
  });

  it("reports a snaplen cut inside the payload as a short capture, and a cut inside headers as truncated", () => {
    const p = ipv4(tcpHeader(1, 11211, 0, 0x18, payload));
    expect(decodePacket(101, p, 0, p.length - 3, out)).toBe(Decoded.Tcp);
    expect([out.payloadLen, out.capturedPayload]).toEqual([7, 4]);
    expect(decodePacket(101, p, 0, 30, out)).toBe(Decoded.Truncated);
  });

  it("uses the IP length, not the captured length, past Ethernet padding", () => {
    const ip = ipv4(tcpHeader(1, 11211, 0, 0x10, Buffer.alloc(0)));
    const frame = Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x00]), ip, Buffer.alloc(6)]); // padded to 60
    expect(decodePacket(1, frame, 0, frame.length, out)).toBe(Decoded.Tcp);
    expect(out.payloadLen).toBe(0);
  });

  it("counts what is not TCP or UDP over IP, and unknown link types", () => {
    const arp = Buffer.concat([Buffer.alloc(12), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]);
    expect(decodePacket(1, arp, 0, arp.length, out)).toBe(Decoded.NotIp);
    const icmp = ipv4(tcpHeader(1, 2, 0, 0, payload));
    icmp[9] = 1;
    expect(raw(icmp)).toBe(Decoded.NotTcp);
    expect(decodePacket(147, icmp, 0, icmp.length, out)).toBe(Decoded.UnknownLink);
    const bad = ipv4(tcpHeader(1, 2, 0, 0, payload));
    bad[0] = 0x41; // IHL 1
    expect(raw(bad)).toBe(Decoded.Malformed);
  });

  it("decodes UDP over IPv4 and IPv6: ports and payload by the UDP length", () => {
    const body = Buffer.from("\x00\x01\x00\x00\x00\x01\x00\x00get k\r\n", "latin1");
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(40000, 0);
    udp.writeUInt16BE(11211, 2);
    udp.writeUInt16BE(8 + body.length, 4);
    const v4 = ipv4(Buffer.concat([udp, body]));
    v4[9] = 17;
    expect(raw(v4)).toBe(Decoded.Udp);
    expect([out.srcPort, out.dstPort, out.payloadLen, out.capturedPayload]).toEqual([40000, 11211, 15, 15]);
    expect(v4.toString("latin1", out.payloadAt + 8, out.payloadAt + 13)).toBe("get k");
    const v6 = ipv6(Buffer.concat([udp, body]), [], 17);
    expect(decodePacket(101, v6, 0, v6.length, out)).toBe(Decoded.Udp);
    expect([out.ipVersion, out.ipId, out.dstPort, out.payloadLen]).toEqual([6, -1, 11211, 15]);
  });

  it("reads the IPv4 id, the window and where the TCP options are", () => {
    const t = tcpHeader(1, 11211, 5, 0x12, Buffer.alloc(0));
    t.writeUInt16BE(29200, 14);
    const p = ipv4(t);
    p.writeUInt16BE(0xbeef, 4);
    expect(raw(p)).toBe(Decoded.Tcp);
    expect([out.ipId, out.window, out.optEnd - out.optAt]).toEqual([0xbeef, 29200, 0]);
  });

  it("takes an IPv4 total length of 0 (segmentation offload on the capturing host) as the captured length", () => {
    const p = ipv4(tcpHeader(1, 11211, 0, 0x18, payload));
    p.writeUInt16BE(0, 2);
    expect(raw(p)).toBe(Decoded.Tcp);
    expect(out.payloadLen).toBe(7);
  });
});
