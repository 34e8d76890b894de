import { Analysis, readCapture, type AnalyzeOptions, type TimedSink } from "./analyzer.js";
import { Decoded, decodePacket, newTcpPacket } from "./decode.js";
import { flowShareOf, flowShareOfFrame } from "./flows.js";
import type { CapturedPacket } from "./packet.js";
import type { AnalysisResult } from "./result.js";
import type { FlowShare, ShareRecord } from "./share.js";

/**
 * One thread's share of a capture split by flow: reads the whole capture,
 * analyses the packets of the flows of its share (see FlowShare),
 * and only the time of every other packet. Files that turn out not to
 * follow one another throw NotOneSequence, as analyzeSequence does.
 */
export async function analyzeShare(
  opts: AnalyzeOptions & { share: FlowShare },
): Promise<{ result: AnalysisResult; share: ShareRecord }> {
  const analysis = new Analysis(opts);
  const read = await readCapture(opts, new ShareFilter(analysis, opts.share), true);
  const { result, facts } = analysis.finish(read.name, read.info, read.interrupted);
  if (read.parts !== undefined) result.files = read.parts;
  return { result, share: analysis.shareRecord(result, facts) };
}

/** Hands the analysis its own flows' packets (and packets of no flow, when it is share 0), the rest as times. */
class ShareFilter implements TimedSink {
  private readonly scratch = newTcpPacket();

  constructor(
    private readonly analysis: Analysis,
    private readonly share: FlowShare,
  ) {}

  /** Every packet reaches the analysis, whole or as its time: its latest time is the capture's. */
  get lastTNs(): number {
    return this.analysis.lastTNs;
  }

  onPacket(pk: CapturedPacket): void {
    let owner = flowShareOfFrame(pk.linkType, pk.data, pk.offset, pk.capLen, this.share.of);
    if (owner < 0) {
      // Not plain Ethernet/IPv4: decode. Packets of no flow are share 0's.
      const p = this.scratch;
      const status = decodePacket(pk.linkType, pk.data, pk.offset, pk.capLen, p);
      owner = status === Decoded.Tcp || status === Decoded.Udp ? flowShareOf(p, pk.data, this.share.of) : 0;
    }
    if (owner === this.share.index) this.analysis.onPacket(pk);
    else this.analysis.passPacket(pk.frame, pk.tNs);
  }
}
