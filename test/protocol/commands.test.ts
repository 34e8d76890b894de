import { describe, expect, it } from "vitest";
import { GetFramer, keySpace } from "../../src/protocol/get-frame.js";
import { getCommand, metaNoopCommand, setCommand, versionCommand } from "../../src/protocol/commands.js";
import { keyProblem } from "../../src/protocol/keys.js";
import { McdiagError } from "../../src/util/errors.js";

describe("commands", () => {
  it("cuts a get where a token-by-token client does: verb, key, line end", () => {
    const c = getCommand("user:42");
    expect(c.whole.toString()).toBe("get user:42\r\n");
    expect(c.tokens.map((t) => t.toString())).toEqual(["get ", "user:42", "\r\n"]);
  });

  it("builds multi-key gets and keeps the tokens views of the whole", () => {
    const c = getCommand(["a", "b", "c"]);
    expect(c.whole.toString()).toBe("get a b c\r\n");
    expect(c.tokens.map((t) => t.toString())).toEqual(["get ", "a", " b", " c", "\r\n"]);
    expect(Buffer.concat(c.tokens as Buffer[]).equals(c.whole)).toBe(true);
    expect(c.tokens[1]!.buffer).toBe(c.whole.buffer);
  });

  it("writes commands without arguments whole", () => {
    expect(versionCommand().tokens.map(String)).toEqual(["version\r\n"]);
    expect(metaNoopCommand().whole.toString()).toBe("mn\r\n");
  });

  it("encodes set with its data block, binary-safe", () => {
    const c = setCommand("k", Buffer.from([0, 13, 10, 255]), { flags: 7, exptimeSec: 60 });
    expect(c.whole.toString("latin1")).toBe("set k 7 60 4\r\n\x00\r\n\xff\r\n");
  });

  it("validates keys before anything is sent", () => {
    expect(keyProblem("ok:key")).toBeUndefined();
    expect(keyProblem("")).toBe("is empty");
    expect(keyProblem("a b")).toMatch(/space/);
    expect(keyProblem("a\nb")).toMatch(/control character/);
    expect(keyProblem("x".repeat(251))).toMatch(/251 bytes long/);
    expect(keyProblem("é".repeat(126))).toMatch(/252 bytes/);
    expect(() => getCommand("bad key")).toThrow(McdiagError);
  });
});

describe("GetFramer", () => {
  it("frames the same bytes as getCommand, for every index width, in one reused buffer", () => {
    const keys = keySpace("mcdiag:", 2_000_000);
    const f = new GetFramer(keys);
    const seen = new Set<ArrayBufferLike>();
    for (const i of [0, 9, 10, 99, 100, 12345, 1_999_999, 7]) {
      f.frame(i);
      const cmd = getCommand(`mcdiag:${i}`);
      expect(f.whole.equals(cmd.whole), String(i)).toBe(true);
      expect(f.tokens.map((t) => t.toString())).toEqual(cmd.tokens.map((t) => t.toString()));
      expect(f.key.toString()).toBe(`mcdiag:${i}`);
      seen.add(f.whole.buffer);
    }
    expect(seen.size).toBe(1);
  });

  it("checks the longest key of the space, so no key in it is too long", () => {
    expect(() => keySpace("x".repeat(245), 1_000_000, "--key-prefix")).toThrow(/--key-prefix/);
    expect(keySpace("x".repeat(244), 1_000_000).count).toBe(1_000_000);
  });
});
