/**
 * A FIFO ring buffer. `shift()` on a JS array is O(n) once arrays get large
 * (autocannon's weak spot); this keeps both ends O(1) and grows by doubling.
 *
 *   slots: [ . . h x x x t . ]   h = head (next out), t = tail (next in)
 */
export class Fifo<T> {
  private slots: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 16) {
    this.slots = new Array<T | undefined>(Math.max(2, initialCapacity));
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) % this.slots.length] = item;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined; // drop the reference for the GC
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    return item;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.slots.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.slots[(this.head + i) % this.slots.length];
    this.slots = next;
    this.head = 0;
  }
}
