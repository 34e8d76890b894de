/**
 * Time lost to retransmission and to a full receive window, gathered per
 * message (request or response) while it is on the wire, then per exchange.
 * The cause rules read these fields from the exchange record.
 */

/** How bytes of a message were lost and recovered (bits of `rtxKinds`). */
export const RTX_TIMEOUT = 1; // resent after a silence: an RTO or a tail-loss probe
export const RTX_FAST = 2; // resent after duplicate ACKs
export const RTX_SPURIOUS = 4; // resent though the receiver had them (its ACK was lost): costs nothing itself
export const RTX_HOLE = 8; // later bytes arrived first and waited for the missing ones
export const RTX_ID_GAP = 16; // lost before the capture point: the sender's IPv4 id skipped, and the bytes came late
export const RTX_LOST_ACK = 32; // a Nagle-held tail released by a loss probe, not by the peer's ACK
export const RTX_PROBE = 64; // a zero-window probe: counted under zero-window

export const RTX_KINDS: [number, string][] = [
  [RTX_TIMEOUT, "resent after a timeout (RTO or tail-loss probe)"],
  [RTX_FAST, "fast retransmit (after duplicate ACKs)"],
  [RTX_SPURIOUS, "spurious retransmission (the receiver had the bytes)"],
  [RTX_HOLE, "out-of-order arrival: later bytes waited for a resent hole"],
  [RTX_ID_GAP, "lost before the capture point (the sender's IPv4 id skipped)"],
  [RTX_LOST_ACK, "lost ACK: a Nagle-held tail sent by a loss probe (~200 ms)"],
  [RTX_PROBE, "zero-window probe"],
];

/** How a receive window held a message back (bits of `zwKinds`). */
export const ZW_ZERO = 1; // the receiver advertised a zero window
export const ZW_FULL = 2; // the sender filled the window the receiver advertised, and waited for it to open

/** A retransmission-shaped delay is at least this long: Linux's minimum RTO is 200 ms (TCP_RTO_MIN). */
export const LOSS_DELAY_MIN_NS = 160e6;

export interface Attribution {
  /** Time the message lost to retransmissions, and how (RTX_* bits), with the first and last frame showing it. */
  rtxNs: number;
  rtxKinds: number;
  rtxFrame: number;
  rtxLastFrame: number;
  /** Time it waited on a zero (or full) receive window; the slow reader: 0 none, 1 the client, 2 the server. */
  zwNs: number;
  zwReader: number;
  zwFrame: number;
  zwLastFrame: number;
  /** ZW_* bits, and the persist (zero-window) probes sent while it waited. */
  zwKinds: number;
  zwProbes: number;
}

/** The Attribution fields, all clear: the base of the records that carry them through a session. */
export class AttributionRecord implements Attribution {
  rtxNs = 0;
  rtxKinds = 0;
  rtxFrame = 0;
  rtxLastFrame = 0;
  zwNs = 0;
  zwReader = 0;
  zwFrame = 0;
  zwLastFrame = 0;
  zwKinds = 0;
  zwProbes = 0;
}

export function clearAttribution(a: Attribution): void {
  a.rtxNs = 0;
  a.rtxKinds = 0;
  a.rtxFrame = 0;
  a.rtxLastFrame = 0;
  a.zwNs = 0;
  a.zwReader = 0;
  a.zwFrame = 0;
  a.zwLastFrame = 0;
  a.zwKinds = 0;
  a.zwProbes = 0;
}

export function addRetransmission(a: Attribution, kind: number, ns: number, frame: number): void {
  a.rtxNs += ns > 0 ? ns : 0;
  a.rtxKinds |= kind;
  if (a.rtxFrame === 0) a.rtxFrame = frame;
  a.rtxLastFrame = frame;
}

export function addZeroWindow(
  a: Attribution,
  kind: number,
  reader: number,
  ns: number,
  sinceFrame: number,
  untilFrame: number,
): void {
  a.zwNs += ns > 0 ? ns : 0;
  a.zwKinds |= kind;
  a.zwReader = reader;
  if (a.zwFrame === 0) a.zwFrame = sinceFrame;
  a.zwLastFrame = untilFrame;
}

/** Adds `b`'s findings to `a`. */
export function mergeAttribution(a: Attribution, b: Attribution): void {
  if (b.rtxKinds !== 0) {
    a.rtxNs += b.rtxNs;
    a.rtxKinds |= b.rtxKinds;
    if (a.rtxFrame === 0) a.rtxFrame = b.rtxFrame;
    a.rtxLastFrame = b.rtxLastFrame;
  }
  if (b.zwReader !== 0) {
    a.zwNs += b.zwNs;
    a.zwKinds |= b.zwKinds;
    a.zwReader = b.zwReader;
    if (a.zwFrame === 0) a.zwFrame = b.zwFrame;
    a.zwLastFrame = b.zwLastFrame;
  }
  a.zwProbes += b.zwProbes;
}

export function copyAttribution(a: Attribution, b: Attribution): void {
  clearAttribution(a);
  mergeAttribution(a, b);
}
