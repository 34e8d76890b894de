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

/** Every response one parser reports for `chunks`, as "kind: message" (a fresh parser unless given). */
function reports(chunks: string[], opts: ConstructorParameters<typeof ResponseParser>[1] = {}): string[] {
  const seen: string[] = [];
  const p = new ResponseParser((r) => seen.push(`${r.kind}: ${r.message}`), opts);
  for (const c of chunks) p.push(Buffer.from(c, "latin1"));
  return seen;
}

describe("ResponseParser: what it accepts, word for word", () => {
  it("takes each reply word only whole: a longer word beginning the same is a protocol error", () => {
    for (const line of [
      "VALUEX a 0 1",
      "VERSIONX",
      "VAL",
      "ENDX",
      "ERRORX",
      "EXISTSX",
      "EXTRA",
      "ENX",
      "STOREDX",
      "SERVER_ERRORX",
      "STATX",
      "NOT_FOUNDX",
      "NOT_STOREDX",
      "NFX",
      "NSX",
      "DELETEDX",
      "TOUCHEDX",
      "OKAY",
      "RESETX",
      "CLIENT_ERRORX",
      "HDX",
      "MNX",
      "MEX",
      "12a",
      "",
    ]) {
      expect(reports([line + "\r\n"]), line).toEqual([`protocol_error: unexpected response line '${line}'`]);
    }
  });

  it("reports each kind with the text after its word as the message", () => {
    expect(
      reports(["RESET\r\nEX\r\nNS\r\nME k 1\r\n0\r\nERROR\r\nVERSION\r\nCLIENT_ERROR\r\nEND\r\nSTORED\n"]),
    ).toEqual([
      "reset: ",
      "meta: EX",
      "meta: NS",
      "meta: ME k 1",
      "number: 0",
      "error: ",
      "version: ",
      "client_error: ",
      "values: ",
      "stored: ",
    ]);
  });

  it("takes a line ended by a bare LF, and an empty line at the very start is an error", () => {
    expect(reports(["STORED\nEND\n"])).toEqual(["stored: ", "values: "]);
    expect(reports(["\n"])).toEqual(["protocol_error: unexpected response line ''"]);
  });

  it("names what is wrong with a VALUE or VA header", () => {
    for (const [line, why] of [
      ["VALUE ", "malformed VALUE line 'VALUE '"],
      ["VALUE a", "malformed VALUE line 'VALUE a'"],
      ["VALUE a x 1", "malformed VALUE line 'VALUE a x 1'"],
      ["VALUE a 0 x", "malformed VALUE line 'VALUE a 0 x'"],
      ["VA x", "malformed VA line 'VA x'"],
    ]) {
      expect(reports([line! + "\r\n"]), line).toEqual([`protocol_error: ${why}`]);
    }
  });

  it("requires exactly CRLF after a data block", () => {
    for (const bytes of ["VALUE a 0 1\r\nxyEND\r\n", "VALUE a 0 1\r\nx\rZEND\r\n", "VALUE a 0 1\r\nxZ\nEND\r\n"]) {
      expect(reports([bytes]), JSON.stringify(bytes)).toEqual([
        "protocol_error: data block of 1 bytes is not followed by \\r\\n",
      ]);
    }
  });

  it("keeps STAT and VALUE lines apart", () => {
    expect(reports(["STAT a 1\r\nVALUE a 0 1\r\n"])).toEqual(["protocol_error: VALUE inside a stats response"]);
    expect(reports(["VALUE a 0 1\r\nx\r\nSTAT a 1\r\n"])).toEqual(["protocol_error: STAT inside a retrieval response"]);
  });

  it("fails a VALUE for a key of the expected length but other bytes, or one the expected key is a prefix of", () => {
    for (const [want, got] of [
      ["mine", "mint"],
      ["mi", "mine"],
    ]) {
      const seen: string[] = [];
      const p = new ResponseParser((res) => seen.push(res.kind));
      p.expectKey(Buffer.from(want!));
      p.push(Buffer.from(`VALUE ${got} 0 1\r\nx\r\nEND\r\n`));
      expect(seen, `${want} vs ${got}`).toEqual(["protocol_error"]);
    }
  });
});

describe("ResponseParser: limits are inclusive", () => {
  it("accepts a value of exactly maxValueBytes and refuses one byte more (VALUE and VA)", () => {
    const opts = { maxValueBytes: 4 };
    expect(reports(["VALUE a 0 4\r\nabcd\r\nEND\r\n"], opts)).toEqual(["values: "]);
    expect(reports(["VALUE a 0 5\r\n"], opts)).toEqual([
      "protocol_error: VALUE announces 5 bytes, above the limit of 4",
    ]);
    expect(reports(["VA 4\r\nabcd\r\n"], opts)).toEqual(["meta: VA 4"]);
    expect(reports(["VA 5\r\n"], opts)).toEqual(["protocol_error: VA announces 5 bytes, above the limit of 4"]);
    expect(reports(["VA 0\r\n\r\n"], opts)).toEqual(["meta: VA 0"]);
  });

  it("holds a line of exactly maxLineBytes without its end, and fails one byte more", () => {
    expect(reports(["x".repeat(10)], { maxLineBytes: 10 })).toEqual([]);
    expect(reports(["x".repeat(11)], { maxLineBytes: 10 })).toEqual([
      "protocol_error: response line longer than 10 bytes without a line end",
    ]);
  });
});

describe("ResponseParser: state between responses", () => {
  it("is mid-response from the first byte until the response ends", () => {
    const p = new ResponseParser(() => {});
    const mid: boolean[] = [];
    for (const c of ["STO", "RED\r\n", "VALUE a 0 0\r\n", "\r\n", "END\r\n", "STAT a 1\r\n", "END\r\n"]) {
      p.push(Buffer.from(c));
      mid.push(p.midResponse);
    }
    expect(mid).toEqual([true, false, true, true, false, true, false]);
  });

  it("reports a data block as soon as its CRLF arrives, holding nothing back", () => {
    const seen: string[] = [];
    const p = new ResponseParser((r) => seen.push(r.kind));
    p.push(Buffer.from("VA 2 t5\r\nab\r\n"));
    expect(seen).toEqual(["meta"]);
    p.push(Buffer.from("VALUE a 0 1\r\nx\r\n"));
    expect(p.bufferedBytes).toBe(0);
  });

  it("ends a VA block's meta state with it: a later VALUE block is a plain retrieval", () => {
    expect(reports(["VA 1\r\nx\r\nVALUE a 0 1\r\ny\r\nEND\r\n"])).toEqual(["meta: VA 1", "values: "]);
  });

  it("stops at the first protocol error, says so, and parses again after reset() with stream offsets kept", () => {
    const seen: string[] = [];
    const p = new ResponseParser((r) => seen.push(`${r.kind}@${r.startOffset}`));
    p.push(Buffer.from("STORED\r\nBAD\r\nXX"));
    expect(p.failed).toBe(true);
    p.push(Buffer.from("STORED\r\n"));
    expect(seen).toEqual(["stored@0", "protocol_error@8"]);
    p.reset();
    expect(p.failed).toBe(false);
    p.push(Buffer.from("STORED\r\n"));
    // 8 + "BAD\r\nXX" dropped with the error; the push while broken was never read.
    expect(seen).toEqual(["stored@0", "protocol_error@8", "stored@15"]);
  });

  it("reset() drops a partial response, a VA block's state included", () => {
    const seen: string[] = [];
    const p = new ResponseParser((r) => seen.push(`${r.kind}@${r.startOffset}`));
    p.push(Buffer.from("VA 3\r\nab"));
    p.reset();
    expect(p.midResponse).toBe(false);
    p.push(Buffer.from("VALUE a 0 1\r\nx\r\nEND\r\n"));
    expect(seen).toEqual(["values@8"]);
  });

  it("gives a failed multi-line response the offset where it began", () => {
    const seen: string[] = [];
    const p = new ResponseParser((r) => seen.push(`${r.kind}@${r.startOffset}`));
    p.push(Buffer.from("END\r\nVALUE a 0 1\r\nxyz"));
    expect(seen).toEqual(["values@0", "protocol_error@5"]);
  });

  it("says how many bytes a protocol error dropped: the failed response from its first byte, over chunks", () => {
    const p = new ResponseParser(() => {});
    p.push(Buffer.from("STORED\r\nVALUE a 0 1\r\n")); // STORED is reported; the VALUE block is not complete
    p.push(Buffer.from("xyz\r\nEND\r\n"));
    expect(p.failed).toBe(true);
    expect(p.failedBytes).toBe("VALUE a 0 1\r\nxyz\r\nEND\r\n".length);
    p.reset();
    expect(p.failedBytes).toBe(0);
    p.push(Buffer.from("\x01 junk"));
    p.push(Buffer.from(" line\r\nEND\r\n"));
    expect(p.failedBytes).toBe("\x01 junk line\r\nEND\r\n".length);
  });
});

describe("ResponseParser: what it keeps", () => {
  it("keeps nothing without collect: no items, no stats, across responses", () => {
    const kept: number[] = [];
    const p = new ResponseParser((r) => kept.push(r.items.length + Object.keys(r.stats).length));
    p.push(Buffer.from("VALUE a 0 1\r\nx\r\nEND\r\nSTAT a 1\r\nEND\r\nVA 1\r\ny\r\n"));
    expect(kept).toEqual([0, 0, 0]);
  });

  it("with collect, keeps each response's own items, a cas only where one was sent, and a STAT without value", () => {
    const seen: ParsedResponse[] = [];
    const p = new ResponseParser((r) => seen.push({ ...r, items: [...r.items], stats: { ...r.stats } }), {
      collect: true,
    });
    p.push(Buffer.from("VALUE k 5 1 99\r\nx\r\nEND\r\nVALUE j 0 1\r\ny\r\nEND\r\nVA 1\r\nz\r\nSTAT name\r\nEND\r\n"));
    expect(seen.map((r) => r.items.map((i) => ({ ...i, data: i.data.toString() })))).toEqual([
      [{ key: "k", flags: 5, cas: "99", data: "x" }],
      [{ key: "j", flags: 0, data: "y" }],
      [{ key: "", flags: 0, data: "z" }],
      [],
    ]);
    expect(seen.map((r) => r.items.every((i) => "cas" in i))).toEqual([true, false, false, true]);
    expect(seen[3]!.stats).toEqual({ name: "" });
  });
});

describe("ResponseParser: edges the mutation run found untested", () => {
  it("is mid-response while a VA block's data is awaited, even an empty one", () => {
    for (const header of ["VA 2\r\n", "VA 0\r\n"]) {
      const p = new ResponseParser(() => {});
      p.push(Buffer.from(header));
      expect(p.midResponse, header).toBe(true);
    }
  });

  it("fails a VALUE line with an empty key before the flags", () => {
    expect(reports(["VALUE  0 1\r\nx\r\nEND\r\n"])).toEqual(["protocol_error: malformed VALUE line 'VALUE  0 1'"]);
  });

  it("gives an error its start in the stream: the first byte, or where an endless line began", () => {
    const at = (chunks: string[], opts = {}) => {
      const seen: number[] = [];
      const p = new ResponseParser((r) => seen.push(r.startOffset), opts);
      for (const c of chunks) p.push(Buffer.from(c));
      return { seen, mid: p.midResponse };
    };
    expect(at(["BAD\r\n"]).seen).toEqual([0]);
    expect(at(["STORED\r\n", "x".repeat(11)], { maxLineBytes: 10 }).seen).toEqual([0, 8]);
    // Nothing is pending after an error: the parser holds no partial response.
    expect(at(["VALUE a 0 1\r\nxyz"]).mid).toBe(false);
  });
});
