/** A running watch of a process's peak RSS; `stop()` returns it in MB. */
export interface PeakRssWatch {
  stop(): number;
}

export function watchPeakRss(pid: number | undefined, intervalMs: number): PeakRssWatch;
