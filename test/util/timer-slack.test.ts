import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { tightenTimerSlack } from "../../src/util/timer-slack.js";

const SLACK = "/proc/self/timerslack_ns";

describe("timer slack for the generator's sleeps", () => {
  // Linux only: elsewhere there is no per-thread timer slack to set (CI runs Linux).
  it.runIf(process.platform === "linux")("asks for 1 ns while the generator runs, and puts the old slack back", () => {
    const before = readFileSync(SLACK, "utf8").trim();
    const restore = tightenTimerSlack();
    expect(readFileSync(SLACK, "utf8").trim()).toBe("1");
    restore();
    expect(readFileSync(SLACK, "utf8").trim()).toBe(before);
  });
});
