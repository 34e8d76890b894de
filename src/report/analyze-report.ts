import type { CaptureAttribution } from "../analyze/capture-run.js";
import type { AnalysisResult, CaptureFilePart, CauseSummary } from "../analyze/result.js";
import { withEnvelope } from "../results/record.js";
import { fmtCount, fmtMs, fmtPct, fmtUs } from "./format.js";
import { newTable } from "./table.js";

const LINK_NAMES: Record<number, string> = {
  0: "BSD loopback",
  1: "Ethernet",
  101: "raw IP",
  108: "OpenBSD loopback",
  113: "Linux cooked",
  228: "raw IPv4",
  229: "raw IPv6",
  276: "Linux cooked v2",
};

/** The "where the time went" table: one row per cause, most time first. */
export function renderCauses(causes: CauseSummary[]): string {
  const t = newTable(["cause", "slow requests", "total", "typical", "timer it matches", "worst: flow, frames"]);
  for (const c of causes) {
    const ex = c.examples[0];
    t.push([
      c.cause,
      c.cause === "connect"
        ? `${fmtCount(c.requests)} (${fmtCount(c.connections ?? 0)} connections)`
        : fmtCount(c.requests),
      fmtMs(c.totalMs),
      fmtMs(c.typicalMs),
      c.timer ?? "-",
      ex === undefined ? "-" : `${ex.flow}: ${ex.frames.join(", ")} (${fmtMs(ex.ms)})`,
    ]);
  }
  return "where the time went (each slow request counted once, under the cause that cost it most):\n" + t.toString();
}

/** The JSON document for `analyze --json` (and a merge of analyses): the result in its envelope. */
export function analysisJson(r: AnalysisResult): object {
  return withEnvelope("analyze", r);
}

/** Files listed in full up to this many; beyond, the first and last few. */
const FILES_LISTED = 12;

/** Which frames each file of a ring holds: what a frame number means in Wireshark. */
function filesLine(files: CaptureFilePart[]): string {
  const part = (f: CaptureFilePart) => `${f.file} ${fmtCount(f.firstFrame)}–${fmtCount(f.firstFrame + f.frames - 1)}`;
  const shown =
    files.length <= FILES_LISTED
      ? files.map(part)
      : [...files.slice(0, FILES_LISTED / 2).map(part), "…", ...files.slice(-FILES_LISTED / 2).map(part)];
  return (
    `read as one capture from ${files.length} files, frames numbered on across them ` +
    `(frame N is frame N − first + 1 of its file): ${shown.join(", ")}`
  );
}

/** Human report of a capture analysis. */
export function renderAnalysis(r: AnalysisResult, opts: { showKeys: boolean }): string {
  const out: string[] = [];
  const links = r.linkTypes.map((l) => `${LINK_NAMES[l] ?? "link type"} (${l})`).join(", ");
  out.push(
    `mcdiag analyze ${r.file}: ${r.format ?? "?"}${links ? `, ${links}` : ""}, ${r.timestampResolution ?? "?"} timestamps, ` +
      `${fmtCount(r.packets)} packets over ${r.durationSec.toFixed(3)} s`,
  );
  if (r.mergedFrom !== undefined) {
    out.push(
      `merged from ${r.mergedFrom.length} results: ${r.mergedFrom.join(", ")} (flow and frame numbers are each capture's own; JSON rows name their result)`,
    );
  }
  if (r.files !== undefined) out.push(filesLine(r.files));
  if (r.interrupted) out.push("interrupted: this report covers the packets read before the stop");
  const udp = r.udpFlows > 0 ? ` (${fmtCount(r.udpFlows)} over UDP: latency only, stalls do not apply)` : "";
  const evicted = r.flowsEvicted.idle + r.flowsEvicted.limit;
  out.push(
    `flows: ${fmtCount(r.memcachedFlows)} memcached${udp}, ${fmtCount(r.otherFlows)} other` +
      (evicted > 0 ? ` (${fmtCount(evicted)} finished early: idle or beyond --max-flows)` : "") +
      "; " +
      `requests: ${fmtCount(r.requests.total)} (${
        Object.entries(r.requests.byCommand)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${fmtCount(v)}`)
          .join(", ") || "none"
      }); ` +
      `in several segments: ${fmtCount(r.multiSegmentRequests)} requests, ${fmtCount(r.multiSegmentResponses)} responses`,
  );
  const s = r.stalls;
  const stalled = s.request + s.response;
  out.push(
    stalled === 0
      ? "stalls: none"
      : `stalls: ${fmtCount(s.request)} request-side, ${fmtCount(s.response)} response-side, ${fmtMs(s.totalMs)} in all; ` +
          `typical stall ${s.delayedAckTimerMs} ms — ${s.timerNote}`,
  );
  if (r.wireUs.count > 0)
    out.push(
      `wire latency (first request byte → last response byte): p50 ${fmtUs(r.wireUs.p50)}, p99 ${fmtUs(r.wireUs.p99)}, max ${fmtUs(r.wireUs.max)}`,
    );

  if (r.wireUs.count > 0) {
    out.push(
      `slow requests (wire ≥ ${r.slowThresholdMs} ms): ${fmtCount(r.slowRequests)} of ${fmtCount(r.wireUs.count)} answered`,
    );
  }
  if (r.causes.length > 0) out.push(renderCauses(r.causes));
  if (r.endpoints.length > 0) {
    const t = newTable([
      "server",
      "flows",
      "requests",
      "stalls",
      "stalled",
      "stalled time",
      "p50 wire",
      "p99 wire",
      "max",
    ]);
    for (const e of r.endpoints) {
      t.push([
        e.server,
        fmtCount(e.flows),
        fmtCount(e.requests),
        fmtCount(e.stalls),
        fmtPct(e.stalledRatio),
        fmtMs(e.stalledMs),
        fmtUs(e.wireUs.p50),
        fmtUs(e.wireUs.p99),
        fmtUs(e.wireUs.max),
      ]);
    }
    out.push(t.toString());
  }
  const flows = r.flowsDetail.slice(0, 20);
  if (flows.length > 0) {
    const t = newTable([
      "flow",
      "client → server",
      "requests",
      "multi-seg",
      "stalls",
      "stalled time",
      "p50 wire",
      "p99 wire",
      "verdict",
    ]);
    for (const f of flows) {
      t.push([
        String(f.flow) + (f.midStream ? "*" : "") + (f.transport === "udp" ? " udp" : ""),
        `${f.client} → ${f.server}`,
        fmtCount(f.requests),
        fmtCount(f.multiSegmentRequests),
        fmtCount(f.stalledRequests + f.stalledResponses),
        f.stalledMs > 0 ? fmtMs(f.stalledMs) : "-",
        fmtUs(f.wireUs.p50),
        fmtUs(f.wireUs.p99),
        f.verdict,
      ]);
    }
    out.push(t.toString());
    const more = r.flowsDetail.length - flows.length + r.flowsOmitted;
    if (more > 0) out.push(`(${fmtCount(more)} more flows in --json)`);
    if (flows.some((f) => f.midStream)) out.push("* the capture started after this connection did");
  }
  if (r.stalls.items.length > 0) {
    const top = [...r.stalls.items].sort((a, b) => b.stallMs - a.stallMs).slice(0, 10);
    const t = newTable([
      "flow",
      "command",
      ...(opts.showKeys ? ["key"] : []),
      "side",
      "stall",
      "frames: before, ACK, after",
      "at",
    ]);
    for (const i of top) {
      t.push([
        String(i.flow),
        i.command,
        ...(opts.showKeys ? [i.key ?? ""] : []),
        i.side,
        fmtMs(i.stallMs),
        i.frames.join(", "),
        `${i.atSec.toFixed(3)} s`,
      ]);
    }
    out.push("longest stalls (open the frames in Wireshark: frame.number == N):");
    out.push(t.toString());
  }
  for (const a of r.advice) out.push(`advice: ${a}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join("\n") + "\n";
}

/** The probe's own capture, attributed: slow requests and their causes, beside the probe's phases. */
export function renderCaptureAttribution(a: CaptureAttribution): string {
  const out = [
    `capture${a.file ? ` ${a.file}` : ""}: ${fmtCount(a.packets)} packets, ${fmtCount(a.retransmissions)} retransmitted segments; ` +
      `slow requests (wire ≥ ${a.slowThresholdMs} ms): ${fmtCount(a.slowRequests)}`,
  ];
  if (a.phases === undefined) {
    if (a.causes.length > 0) out.push(renderCauses(a.causes));
  } else {
    for (const p of a.phases) {
      out.push(
        `${p.phase}: ${fmtCount(p.packets)} packets, ${fmtCount(p.retransmissions)} retransmitted; ` +
          `slow requests: ${p.slowRequests === 0 ? "none" : fmtCount(p.slowRequests)}`,
      );
      if (p.causes.length > 0) out.push(renderCauses(p.causes));
    }
  }
  for (const c of a.causes) out.push(`advice (${c.cause}): ${c.advice}`);
  for (const w of a.warnings) out.push(`capture warning: ${w}`);
  return out.join("\n") + "\n";
}
