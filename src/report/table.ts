import Table from "cli-table3";

/** A plain table (no colour codes: output is often piped into logs and CI). */
export function newTable(head: string[]): InstanceType<typeof Table> {
  return new Table({
    head,
    style: { head: [], border: [], compact: true },
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
}
