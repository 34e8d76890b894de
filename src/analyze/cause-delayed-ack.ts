import type { CauseRule } from "./causes.js";

/** The Nagle/delayed-ACK stalls found inside the request or the response (the stall rule in stalls.ts). */
export const delayedAckRule: CauseRule = {
  cause: "delayed-ack",
  costNs(x) {
    let ns = 0;
    if (x.stalls !== undefined) for (const s of x.stalls) ns += s.stallNs;
    return ns;
  },
  frames(x) {
    const s = x.stalls?.[0];
    return s === undefined ? [] : [s.before, s.ack, s.after];
  },
  timer(ms) {
    if (ms >= 35 && ms <= 60) return "Linux's minimum delayed-ACK time (TCP_DELACK_MIN, 40 ms)";
    if (ms >= 90 && ms <= 110) return "a 100 ms delayed-ACK timer (macOS and BSD defaults)";
    if (ms >= 180 && ms <= 220) return "Windows' 200 ms delayed-ACK timer (or an old BSD stack)";
    return "not a common delayed-ACK timer";
  },
  advice:
    "a command or reply left in several writes with Nagle on, and its tail waited for the peer's delayed ACK: " +
    "write each message in one buffer (or cork/uncork), or set TCP_NODELAY",
};
