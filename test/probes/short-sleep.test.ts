import { describe, expect, it } from "vitest";
import { MAX_SLACK_MS, MIN_SLACK_MS, ShortSleeper } from "../../src/probes/short-sleep.js";

// The learning rule alone (no clock): how early the generator's short sleeps end.
describe("ShortSleeper's slack", () => {
  it("starts at the minimum and stays there while wake-ups are prompt", () => {
    const s = new ShortSleeper();
    for (let i = 0; i < 100; i++) s.learn(0.02);
    expect(s.slackMs).toBe(MIN_SLACK_MS);
  });

  it("jumps to cover a late wake-up, with a margin, and never beyond the maximum", () => {
    const s = new ShortSleeper();
    s.learn(0.4);
    expect(s.slackMs).toBeCloseTo(0.45, 9);
    s.learn(0.3); // less late than the slack covers: it only decays
    expect(s.slackMs).toBeLessThan(0.45);
    expect(s.slackMs).toBeGreaterThan(0.44);
    s.learn(5);
    expect(s.slackMs).toBe(MAX_SLACK_MS);
  });

  it("forgets a late spell gradually, back to the minimum", () => {
    const s = new ShortSleeper();
    s.learn(0.9);
    for (let i = 0; i < 500; i++) s.learn(0);
    expect(s.slackMs).toBeGreaterThan(0.5); // still covering a recent tail
    for (let i = 0; i < 5000; i++) s.learn(0);
    expect(s.slackMs).toBe(MIN_SLACK_MS);
  });

  it("does not sleep when the deadline is within the slack", () => {
    const s = new ShortSleeper();
    const t = performance.now();
    s.sleepUntil(t + MIN_SLACK_MS / 2); // within the slack: returns without sleeping or learning
    expect(s.slackMs).toBe(MIN_SLACK_MS);
  });
});
