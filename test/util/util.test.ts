import { describe, expect, it } from "vitest";
import { CarryBuffer } from "../../src/util/carry-buffer.js";
import { parseDurationMs } from "../../src/util/duration.js";
import { formatEndpoint, parseEndpoint } from "../../src/util/endpoint.js";
import { Fifo } from "../../src/util/fifo.js";

describe("parseEndpoint", () => {
  it("accepts host:port, [v6]:port, bare hosts and bare IPv6", () => {
    expect(parseEndpoint("127.0.0.1:11211")).toEqual({ host: "127.0.0.1", port: 11211 });
    expect(parseEndpoint("[::1]:22122")).toEqual({ host: "::1", port: 22122 });
    expect(parseEndpoint("cache.internal")).toEqual({ host: "cache.internal", port: 11211 });
    expect(parseEndpoint("::1")).toEqual({ host: "::1", port: 11211 });
    expect(formatEndpoint({ host: "::1", port: 5000 })).toBe("[::1]:5000");
  });

  it("rejects malformed endpoints with the text and the reason", () => {
    expect(() => parseEndpoint("host:abc")).toThrow("bad endpoint 'host:abc': port 'abc' is not a number");
    expect(() => parseEndpoint("host:70000")).toThrow(/out of range/);
    expect(() => parseEndpoint("[::1")).toThrow(/missing '\]'/);
    expect(() => parseEndpoint(":11211")).toThrow(/missing host/);
  });
});

describe("parseDurationMs", () => {
  it("reads units and bare seconds", () => {
    expect(parseDurationMs("500ms", "--x")).toBe(500);
    expect(parseDurationMs("2", "--x")).toBe(2000);
    expect(parseDurationMs("1.5s", "--x")).toBe(1500);
    expect(parseDurationMs("2m", "--x")).toBe(120000);
    expect(() => parseDurationMs("5 parsecs", "--duration")).toThrow("--duration: '5 parsecs' is not a duration");
    expect(() => parseDurationMs("0", "--duration")).toThrow(/above zero/);
  });
});

describe("Fifo", () => {
  it("keeps order across growth and wrap-around", () => {
    const q = new Fifo<number>(2);
    const out: number[] = [];
    for (let i = 0; i < 100; i++) {
      q.push(i);
      if (i % 3 === 0) out.push(q.shift()!);
    }
    while (q.length > 0) out.push(q.shift()!);
    expect(out).toEqual([...Array(100).keys()]);
    expect(q.shift()).toBeUndefined();
  });
});

describe("CarryBuffer", () => {
  it("carries partial messages across chunks and copies leftovers out of the caller's chunk", () => {
    const c = new CarryBuffer(4);
    const chunk = Buffer.from("abcdef");
    c.append(chunk);
    c.consume(2);
    c.settle();
    chunk.fill(0x7a); // the caller reuses its chunk: carried bytes must not change
    expect(c.buf.toString("latin1", c.start, c.end)).toBe("cdef");
    c.append(Buffer.from("ghijklmnop"));
    expect(c.buf.toString("latin1", c.start, c.end)).toBe("cdefghijklmnop");
    c.consume(14);
    expect(c.available).toBe(0);
  });
});
