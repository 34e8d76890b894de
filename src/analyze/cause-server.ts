import type { CauseRule } from "./causes.js";

/**
 * The server took at least the slow threshold between the request's last
 * byte and the response's first, and loss or a shut window does not explain
 * that time.
 */
export const serverRule: CauseRule = {
  cause: "server",
  costNs(x, slowNs) {
    if (x.respFirstTNs === 0) return 0;
    const ns = x.respFirstTNs - x.reqLastTNs - x.serverLossNs;
    return ns >= slowNs ? ns : 0;
  },
  frames(x) {
    return [x.reqLastFrame, x.respFirstFrame];
  },
  timer() {
    return "the server's own time (or a proxy's, with the hop behind it)";
  },
  advice:
    "the server answered slowly: slow commands (large multi-gets, big values), CPU or lock contention, " +
    "and for a proxy (mcrouter, twemproxy) its own latency and that of the server behind it",
};
