import { RTX_PROBE } from "./attribution.js";
import type { CauseRule } from "./causes.js";

/**
 * Bytes of the exchange were lost and sent again: seen twice (RTO, tail-loss
 * probe, fast retransmit), arriving into a hole they filled, lost before the
 * capture point (the sender's IPv4 id skipped and they came an RTO late),
 * or a Nagle-held tail sent by a loss probe because the peer's ACK was lost.
 * Persist probes while the receiver's window was shut belong to zero-window.
 */
export const retransmissionRule: CauseRule = {
  cause: "retransmission",
  costNs(x) {
    if (x.zwNs > 0 && (x.rtxKinds & RTX_PROBE) !== 0) return 0;
    return x.rtxNs;
  },
  frames(x) {
    return x.rtxFrame === 0 ? [] : x.rtxLastFrame !== x.rtxFrame ? [x.rtxFrame, x.rtxLastFrame] : [x.rtxFrame];
  },
  timer(ms) {
    if (ms < 150) return "about one round trip: fast retransmit, or reordering";
    if (ms <= 330)
      return "Linux's minimum RTO (TCP_RTO_MIN, 200 ms), or a tail-loss probe (2·SRTT + 200 ms with one segment in flight)";
    if (ms <= 1500) return "RTO backoff: the timer doubles from 200 ms after each loss of the same segment";
    return "several RTO backoffs (200 ms, 400 ms, 800 ms, …)";
  },
  advice:
    "packets were lost and resent: check interface drops and ring buffers (ip -s link, ethtool -S), " +
    "the kernel's retransmissions (nstat TcpRetransSegs, TcpExtTCPLossProbes), and the path between client and server",
};
