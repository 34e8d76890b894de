import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * An independent count of the slow requests that loss touched, from
 * tshark's TCP analysis and, when there is one, the NFLOG log of the
 * packets a firewall rule really dropped. Requests are found by their first
 * bytes (a command verb), responses by their last (a line end), each
 * response ending at the last frame that carried its last byte (resent
 * ones included, unless tshark calls them spurious: the client had the
 * bytes). A slow request was touched by loss when, between its first byte
 * and its response's end, tshark flags a retransmission, a lost or
 * out-of-order segment on its connection; or when the drop log holds one of
 * its data segments (by sequence number: NFLOG delivers in batches, so its
 * times are not usable), or the server's ACK of its bytes; and it took at
 * least `lossMs` (a loss that cost time: recovery on these quiet connections
 * is by RTO or tail-loss probe, ≥ 200 ms; a dropped ACK that a later one
 * covered costs nothing).
 */
export function tsharkLossTruth(
  file: string,
  dropLog: string | undefined,
  serverPort: number,
  slowMs = 20,
  lossMs = 150,
) {
  const fields = [
    "frame.time_epoch",
    "tcp.stream",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.len",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.lost_segment",
    "tcp.analysis.out_of_order",
    "tcp.analysis.spurious_retransmission",
    "tcp.payload",
  ];
  const tshark = (f: string, fs: string[], filter: string) =>
    execFileSync("tshark", ["-r", f, "-T", "fields", "-E", "separator=;", ...fs.flatMap((x) => ["-e", x]), filter], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      maxBuffer: 1 << 28,
    });
  interface Pkt {
    t: number;
    stream: string;
    clientPort: number;
    toServer: boolean;
    seq: number;
    ack: number;
    seqEnd: number;
    len: number;
    flagged: boolean;
    spurious: boolean;
    payload: string;
  }
  const pkts: Pkt[] = [];
  for (const line of tshark(file, fields, "tcp").split("\n")) {
    if (line.trim() === "") continue;
    const [t, stream, sp, dp, seq, ack, len, r1, r2, r3, r4, sp2, payload] = line.split(";");
    const toServer = Number(dp) === serverPort;
    pkts.push({
      t: Number(t),
      stream: stream!,
      clientPort: toServer ? Number(sp) : Number(dp),
      toServer,
      seq: Number(seq),
      ack: Number(ack),
      seqEnd: (Number(seq) + Number(len)) >>> 0,
      len: Number(len),
      flagged: [r1, r2, r3, r4].some((x) => x !== undefined && x !== ""),
      spurious: sp2 !== undefined && sp2 !== "",
      payload: payload ?? "",
    });
  }
  // The last time each response end (stream, seq end) was sent.
  const lastSent = new Map<string, number>();
  for (const p of pkts) if (!p.toServer && p.len > 0 && !p.spurious) lastSent.set(`${p.stream}/${p.seqEnd}`, p.t);
  const drops: { clientPort: number; toServer: boolean; seq: number; ack: number; len: number }[] = [];
  if (dropLog !== undefined && existsSync(dropLog)) {
    for (const line of tshark(
      dropLog,
      ["tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.len"],
      "tcp",
    ).split("\n")) {
      const [sp, dp, seq, ack, len] = line.split(";");
      if (!sp) continue;
      const toServer = Number(dp) === serverPort;
      drops.push({
        clientPort: toServer ? Number(sp) : Number(dp),
        toServer,
        seq: Number(seq),
        ack: Number(ack),
        len: Number(len),
      });
    }
  }
  const within = (x: number, from: number, to: number) => (x - from) >>> 0 < (to - from) >>> 0;
  const verb = /^(67657420|73657420|6765747320|76657273696f6e)/; // "get ", "set ", "gets ", "version" in hex
  const seen = new Set<string>();
  let slow = 0;
  let touched = 0;
  const byStream = new Map<string, Pkt[]>();
  for (const p of pkts) {
    if (!byStream.has(p.stream)) byStream.set(p.stream, []);
    byStream.get(p.stream)!.push(p);
  }
  for (const [, list] of byStream) {
    let reqStart = -1;
    let reqSeq = 0;
    let reqEnd = 0;
    let respSeq = -1;
    for (const p of list) {
      const key = `${p.stream}/${p.toServer ? "c" : "s"}/${p.seqEnd}`;
      if (p.len === 0 || seen.has(key)) continue; // resent bytes start and end nothing new
      seen.add(key);
      if (p.toServer) {
        if (reqStart < 0 && verb.test(p.payload.slice(0, 14))) {
          reqStart = p.t;
          reqSeq = p.seq;
          respSeq = -1;
        }
        reqEnd = p.seqEnd;
        continue;
      }
      if (reqStart < 0) continue;
      if (respSeq < 0) respSeq = p.seq;
      if (!p.payload.endsWith("0d0a")) continue;
      const end = lastSent.get(`${p.stream}/${p.seqEnd}`) ?? p.t;
      if ((end - reqStart) * 1000 >= slowMs) {
        slow++;
        const lossy =
          list.some((q) => q.flagged && q.t >= reqStart && q.t <= end) ||
          drops.some(
            (d) =>
              d.clientPort === p.clientPort &&
              (d.toServer
                ? d.len > 0 && within(d.seq, reqSeq, reqEnd)
                : d.len > 0
                  ? within(d.seq, respSeq, p.seqEnd)
                  : within(d.ack - 1, reqSeq, reqEnd)),
          );
        if (lossy && (end - reqStart) * 1000 >= lossMs) touched++;
      }
      reqStart = -1;
    }
  }
  return { slow, touchedByLoss: touched, drops: drops.length };
}

/**
 * An independent count of the requests a receive window held back, from
 * tshark's TCP analysis: a request (a segment to the server starting with a
 * command verb) was held back when, before the next request, tshark flags a
 * zero window, or a segment that filled the window ("Window Full", from
 * which the stuck sender and so the slow reader follow), or a zero-window
 * probe or keep-alive. Returns those requests and, per slow reader, how many.
 */
export function tsharkWindowTruth(file: string, serverPort: number) {
  const out = execFileSync(
    "tshark",
    [
      "-r",
      file,
      "-T",
      "fields",
      "-E",
      "separator=;",
      ...["tcp.srcport", "tcp.len", "tcp.analysis.zero_window", "tcp.analysis.window_full", "tcp.payload"].flatMap(
        (x) => ["-e", x],
      ),
      `tcp.port==${serverPort}`,
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 1 << 28 },
  );
  let requests = 0;
  let current: { client: boolean; server: boolean } | undefined;
  const held: { client: boolean; server: boolean }[] = [];
  for (const line of out.split("\n")) {
    if (line === "") continue;
    const [src, len, zero, full, payload] = line.split(";");
    const fromServer = Number(src) === serverPort;
    // get, set, delete, prepend, append, incr, decr (hex of their first bytes): a new request starts.
    if (!fromServer && Number(len) > 0 && /^(676574|736574|64656c|707265|617070|696e63|646563)/.test(payload ?? "")) {
      requests++;
      current = { client: false, server: false };
      held.push(current);
      continue;
    }
    if (current === undefined) continue;
    // A zero window advertised by the client, or the server filling the client's window: the client is slow.
    if ((zero === "1" && !fromServer) || (full === "1" && fromServer)) current.client = true;
    if ((zero === "1" && fromServer) || (full === "1" && !fromServer)) current.server = true;
  }
  return {
    requests,
    heldBack: held.filter((h) => h.client || h.server).length,
    clientSlowReader: held.filter((h) => h.client).length,
    serverSlowReader: held.filter((h) => h.server).length,
  };
}
