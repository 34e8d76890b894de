/** In-memory item store for the embedded server. */
export interface Item {
  flags: number;
  cas: number;
  data: Buffer;
  /** "VALUE <key> <flags> <bytes>\r\n<data>\r\n", built once at store time. */
  valueBlock: Buffer;
}

export class ItemStore {
  private readonly items = new Map<string, Item>();
  private casCounter = 1;
  /** Total data bytes held, for the bound below. */
  private bytes = 0;

  constructor(readonly maxTotalBytes = 256 * 1024 * 1024) {}

  get size(): number {
    return this.items.size;
  }

  get(key: string): Item | undefined {
    return this.items.get(key);
  }

  /** Stores a copy of `data`; false when the store is full. */
  set(key: string, flags: number, data: Buffer): boolean {
    const old = this.items.get(key);
    const delta = data.length - (old?.data.length ?? 0);
    if (this.bytes + delta > this.maxTotalBytes) return false;
    const header = Buffer.from(`VALUE ${key} ${flags} ${data.length}\r\n`, "latin1");
    const valueBlock = Buffer.allocUnsafe(header.length + data.length + 2);
    header.copy(valueBlock, 0);
    data.copy(valueBlock, header.length);
    valueBlock[valueBlock.length - 2] = 0x0d;
    valueBlock[valueBlock.length - 1] = 0x0a;
    const stored = valueBlock.subarray(header.length, header.length + data.length);
    this.items.set(key, { flags, cas: this.casCounter++, data: stored, valueBlock });
    this.bytes += delta;
    return true;
  }

  delete(key: string): boolean {
    const old = this.items.get(key);
    if (old === undefined) return false;
    this.bytes -= old.data.length;
    this.items.delete(key);
    return true;
  }

  clear(): void {
    this.items.clear();
    this.bytes = 0;
  }
}
