import { describe, expect, it } from "vitest";
import {
  FRAME_INCOMPLETE,
  FRAME_MALFORMED,
  FRAME_TOO_LONG,
  frameCommand,
  newFrame,
} from "../../src/protocol/request-framing.js";

function frames(bytes: Buffer): string[] {
  const f = newFrame();
  const out: string[] = [];
  let at = 0;
  for (;;) {
    const next = frameCommand(bytes, at, bytes.length, f);
    if (next < 0) {
      out.push(`status ${next}`);
      break;
    }
    out.push(bytes.toString("latin1", at, next));
    at = next;
    if (at === bytes.length) break;
  }
  return out;
}

describe("frameCommand", () => {
  it("frames retrievals by line and storage commands by their announced data length", () => {
    const stream = Buffer.from("get a b\r\nset k 0 0 5\r\na\r\nb\r\r\nms k 2 T0\r\nhi\r\nversion\r\n", "latin1");
    expect(frames(stream)).toEqual([
      "get a b\r\n",
      "set k 0 0 5\r\na\r\nb\r\r\n",
      "ms k 2 T0\r\nhi\r\n",
      "version\r\n",
    ]);
  });

  it("says incomplete at every cut inside a command", () => {
    const cmd = Buffer.from("set key 1 2 3\r\nxyz\r\n");
    const f = newFrame();
    for (let i = 0; i < cmd.length; i++) expect(frameCommand(cmd, 0, i, f), `cut ${i}`).toBe(FRAME_INCOMPLETE);
    expect(frameCommand(cmd, 0, cmd.length, f)).toBe(cmd.length);
    expect(f.dataStart).toBe(15);
    expect(f.dataBytes).toBe(3);
  });

  it("flags a storage line without a numeric length, and an endless line", () => {
    const f = newFrame();
    expect(frameCommand(Buffer.from("set k 0 0 x\r\n"), 0, 13, f)).toBe(FRAME_MALFORMED);
    expect(f.next).toBe(13);
    const long = Buffer.alloc(3000, 0x61);
    expect(frameCommand(long, 0, long.length, f)).toBe(FRAME_TOO_LONG);
  });
});
