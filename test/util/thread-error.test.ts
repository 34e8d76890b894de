import { describe, expect, it } from "vitest";
import { McdiagError, fromThreadError, toThreadError } from "../../src/util/errors.js";

describe("errors crossing from a worker thread", () => {
  it("keep a McdiagError's code (its exit status) and message", () => {
    const crossed = structuredClone(
      toThreadError(new McdiagError("BAD_INPUT", "x.pcap: not a pcap or pcapng capture")),
    );
    const err = fromThreadError(crossed, "x.pcap");
    expect(err).toBeInstanceOf(McdiagError);
    expect((err as McdiagError).code).toBe("BAD_INPUT");
    expect(err.message).toBe("x.pcap: not a pcap or pcapng capture");
  });

  it("turn anything else into an internal error that says where it came from, with no stack", () => {
    const crossed = structuredClone(toThreadError(new TypeError("boom")));
    expect(Object.keys(crossed)).toEqual(["message"]);
    const err = fromThreadError(crossed, "internal error in a worker thread");
    expect(err).not.toBeInstanceOf(McdiagError);
    expect(err.message).toBe("internal error in a worker thread: boom");
  });
});
