import type { CauseRule } from "./causes.js";

/**
 * The receiver advertised a zero window during the exchange, or the sender
 * filled the window it advertised: either way the sender waited for it to read.
 */
export const zeroWindowRule: CauseRule = {
  cause: "zero-window",
  costNs(x) {
    return x.zwNs;
  },
  frames(x) {
    return x.zwFrame === 0 ? [] : [x.zwFrame, x.zwLastFrame];
  },
  timer() {
    return "the receiver's buffer was full; the sender probes with the persist timer (RTO-based, from 200 ms)";
  },
  advice:
    "a reader was not keeping up (its receive window filled up or fell to zero): a blocked event loop, a slow consumer of large values, " +
    "or receive buffers too small for the replies",
};
