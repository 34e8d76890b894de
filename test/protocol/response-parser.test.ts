import { describe, expect, it } from "vitest";
import { ResponseParser, type ParsedResponse } from "../../src/protocol/response-parser.js";
import { everySplit } from "../helpers/split.js";

interface Seen {
  kind: string;
  values: number;
  valueBytes: number;
  message: string;
  items: { key: string; flags: number; cas?: string; data: string }[];
  stats: Record<string, string>;
}

function parseChunks(chunks: Buffer[]): Seen[] {
  const seen: Seen[] = [];
  const p = new ResponseParser(
    (r: ParsedResponse) =>
      seen.push({
        kind: r.kind,
        values: r.values,
        valueBytes: r.valueBytes,
        message: r.message,
        items: r.items.map((i) => ({ key: i.key, flags: i.flags, cas: i.cas, data: i.data.toString("latin1") })),
        stats: { ...r.stats },
      }),
    { collect: true },
  );
  for (const c of chunks) p.push(c);
  return seen;
}

function expectSameAtEverySplit(text: string | Buffer): Seen[] {
  const bytes = typeof text === "string" ? Buffer.from(text, "latin1") : text;
  const runs = everySplit(bytes, parseChunks);
  const whole = runs[0]!.out;
  for (const r of runs) expect(r.out, r.split).toEqual(whole);
  return whole;
}

describe("ResponseParser", () => {
  it("parses a hit whose data holds CRLF and binary bytes, at every split point", () => {
    const data = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x45, 0x4e, 0x44, 0x0d, 0x0a]); // includes "END\r\n"
    const bytes = Buffer.concat([Buffer.from(`VALUE k:1 42 ${data.length}\r\n`), data, Buffer.from("\r\nEND\r\n")]);
    const [r] = expectSameAtEverySplit(bytes);
    expect(r!.kind).toBe("values");
    expect(r!.values).toBe(1);
    expect(r!.valueBytes).toBe(9);
    expect(r!.items[0]).toEqual({ key: "k:1", flags: 42, cas: undefined, data: data.toString("latin1") });
  });

  it("parses multi-key gets with cas, misses, and back-to-back responses", () => {
    const seen = expectSameAtEverySplit(
      "VALUE a 0 1 17\r\nx\r\nVALUE b 3 2 18\r\nyz\r\nEND\r\nEND\r\nVERSION 1.6.18\r\n",
    );
    expect(seen.map((s) => s.kind)).toEqual(["values", "values", "version"]);
    expect(seen[0]!.items).toEqual([
      { key: "a", flags: 0, cas: "17", data: "x" },
      { key: "b", flags: 3, cas: "18", data: "yz" },
    ]);
    expect(seen[1]!.values).toBe(0);
    expect(seen[2]!.message).toBe("1.6.18");
  });

  it("parses storage, deletion, numeric, error and mcrouter SERVER_ERROR replies", () => {
    const seen = expectSameAtEverySplit(
      "STORED\r\nNOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\nDELETED\r\nTOUCHED\r\nOK\r\n12345\r\nERROR\r\n" +
        "CLIENT_ERROR bad data chunk\r\nSERVER_ERROR unavailable\r\nSERVER_ERROR Server unavailable. Reason: remote error\r\n",
    );
    expect(seen.map((s) => s.kind)).toEqual([
      "stored",
      "not_stored",
      "exists",
      "not_found",
      "deleted",
      "touched",
      "ok",
      "number",
      "error",
      "client_error",
      "server_error",
      "server_error",
    ]);
    expect(seen[7]!.message).toBe("12345");
    expect(seen[9]!.message).toBe("bad data chunk");
    expect(seen[11]!.message).toBe("Server unavailable. Reason: remote error");
  });

  it("collects STAT lines into one stats response", () => {
    const [r] = expectSameAtEverySplit("STAT pid 42\r\nSTAT version 1.6.18\r\nSTAT curr_connections 3\r\nEND\r\n");
    expect(r!.kind).toBe("stats");
    expect(r!.stats).toEqual({ pid: "42", version: "1.6.18", curr_connections: "3" });
  });

  it("parses meta responses, including a VA value block", () => {
    const seen = expectSameAtEverySplit("HD\r\nVA 3 f5\r\nabc\r\nEN\r\nMN\r\nNF\r\n");
    expect(seen.map((s) => [s.kind, s.message, s.values])).toEqual([
      ["meta", "HD", 0],
      ["meta", "VA 3 f5", 1],
      ["meta", "EN", 0],
      ["meta", "MN", 0],
      ["meta", "NF", 0],
    ]);
    expect(seen[1]!.items[0]!.data).toBe("abc");
  });

  it("ends a retrieval early on SERVER_ERROR in the middle of it", () => {
    const seen = expectSameAtEverySplit("VALUE a 0 1\r\nx\r\nSERVER_ERROR out of memory\r\nVERSION x\r\n");
    expect(seen.map((s) => s.kind)).toEqual(["server_error", "version"]);
    expect(seen[0]!.message).toBe("out of memory");
  });

  it("reports bytes no memcached server sends as a protocol error, once, and stops", () => {
    const seen = parseChunks([Buffer.from("HTTP/1.1 400 Bad Request\r\nEND\r\n")]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.kind).toBe("protocol_error");
    expect(seen[0]!.message).toContain("HTTP/1.1 400");
  });

  it("rejects a data block not followed by CRLF", () => {
    const seen = parseChunks([Buffer.from("VALUE a 0 1\r\nxyEND\r\n")]);
    expect(seen.map((s) => s.kind)).toEqual(["protocol_error"]);
  });

  it("bounds memory: an oversized VALUE announcement or an endless line is an error", () => {
    const seen: string[] = [];
    const p = new ResponseParser((r) => seen.push(r.kind + ":" + r.message), {
      maxValueBytes: 1000,
      maxLineBytes: 100,
    });
    p.push(Buffer.from("VALUE a 0 5000\r\n"));
    expect(seen[0]).toMatch(/protocol_error:VALUE announces 5000 bytes/);
    const seen2: string[] = [];
    const p2 = new ResponseParser((r) => seen2.push(r.kind), { maxLineBytes: 100 });
    p2.push(Buffer.alloc(500, 0x41));
    expect(seen2).toEqual(["protocol_error"]);
  });

  it("reports a large value once, whatever the chunking", () => {
    const data = Buffer.alloc(300_000, 0x61);
    const bytes = Buffer.concat([Buffer.from(`VALUE big 0 ${data.length}\r\n`), data, Buffer.from("\r\nEND\r\n")]);
    const seen: number[] = [];
    const p = new ResponseParser((r) => seen.push(r.valueBytes));
    for (let at = 0; at < bytes.length; at += 1460) p.push(bytes.subarray(at, at + 1460));
    expect(seen).toEqual([300_000]);
    expect(p.midResponse).toBe(false);
  });
});

describe("ResponseParser stream offsets and expected keys", () => {
  it("gives each response the stream offset of its first byte, whatever the chunking", () => {
    const bytes = Buffer.from("END\r\nVALUE k 0 2\r\nab\r\nEND\r\nVERSION 1\r\n");
    for (const r of everySplit(bytes, (chunks) => {
      const starts: number[] = [];
      const p = new ResponseParser((res) => starts.push(res.startOffset));
      for (const c of chunks) p.push(c);
      return starts;
    })) {
      expect(r.out, r.split).toEqual([0, 5, 27]);
    }
  });

  it("fails a VALUE for a key other than the one expected", () => {
    const seen: string[] = [];
    const p = new ResponseParser((res) => seen.push(`${res.kind}: ${res.message}`));
    p.expectKey(Buffer.from("mine"));
    p.push(Buffer.from("VALUE mine 0 1\r\nx\r\nEND\r\nVALUE other 0 1\r\nx\r\nEND\r\n"));
    expect(seen).toEqual(["values: ", "protocol_error: VALUE for key 'other' in reply to a get of 'mine'"]);
  });
});
