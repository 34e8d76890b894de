import type { CauseRule } from "./causes.js";

/** The SYN or SYN/ACK was resent: the connection's set-up time goes to its first exchange (and the connection). */
export const connectRule: CauseRule = {
  cause: "connect",
  costNs(x) {
    return x.connectNs;
  },
  frames(x) {
    return x.connectFrame === 0 ? [] : [x.connectFrame, x.connectRetryFrame, x.connectDoneFrame];
  },
  timer(ms) {
    if (ms >= 800 && ms <= 1500) return "TCP_TIMEOUT_INIT (1 s): the first SYN or SYN/ACK was lost";
    if (ms >= 2500 && ms <= 3500) return "1 s + 2 s: two SYN retries (or an old kernel's 3 s initial RTO)";
    return "SYN retries back off 1 s, 2 s, 4 s, …";
  },
  advice:
    "connections took a SYN retry to open: check the listen backlog (ss -lnt, ListenOverflows), SYN drops and firewalls, " +
    "and warm the pool up before traffic so requests never wait for a connect",
};
