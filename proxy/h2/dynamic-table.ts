/**
 * The HPACK dynamic table (RFC 7541 §2.3.2, §4): a FIFO of header fields bounded by a size in
 * bytes (name + value + 32 per entry), newest first. A ring buffer, so that inserting and
 * evicting never shifts entries; it grows only when the entry count needs it.
 */

/** Per-entry overhead the RFC adds to name and value lengths (§4.1). */
export const HPACK_ENTRY_OVERHEAD = 32;

export class DynamicTable {
  private names: string[] = new Array<string>(16);
  private values: string[] = new Array<string>(16);
  private mask = 15;
  /** Slot of the newest entry. */
  private head = 0;
  /** Entries in the table. */
  length = 0;
  /** Current size in RFC bytes. */
  size = 0;

  constructor(public maxSize: number) {}

  /** Entry `i` counted from the newest (0); undefined when out of range. */
  name(i: number): string | undefined {
    return i < this.length ? this.names[(this.head - i) & this.mask] : undefined;
  }

  value(i: number): string {
    return this.values[(this.head - i) & this.mask]!;
  }

  /** Inserts a field, evicting the oldest entries to make room (§4.4). */
  add(name: string, value: string): void {
    const entrySize = name.length + value.length + HPACK_ENTRY_OVERHEAD;
    if (entrySize > this.maxSize) {
      // Larger than the whole table: the table is emptied and the entry is not added.
      this.evictTo(0);
      return;
    }
    this.evictTo(this.maxSize - entrySize);
    if (this.length === this.mask + 1) this.grow();
    this.head = (this.head + 1) & this.mask;
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.length++;
    this.size += entrySize;
  }

  /** Applies a dynamic table size update (§4.3): evicts until the table fits. */
  setMaxSize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evictTo(maxSize);
  }

  /** Snapshot, newest first (tests and debugging only). */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = 0; i < this.length; i++) out.push([this.name(i)!, this.value(i)]);
    return out;
  }

  private evictTo(target: number): void {
    while (this.size > target && this.length > 0) {
      const slot = (this.head - this.length + 1) & this.mask;
      this.size -= this.names[slot]!.length + this.values[slot]!.length + HPACK_ENTRY_OVERHEAD;
      this.names[slot] = '';
      this.values[slot] = '';
      this.length--;
    }
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const names = new Array<string>(capacity);
    const values = new Array<string>(capacity);
    // Re-lay out oldest..newest into slots 0..length-1.
    for (let i = 0; i < this.length; i++) {
      const from = (this.head - this.length + 1 + i) & this.mask;
      names[i] = this.names[from]!;
      values[i] = this.values[from]!;
    }
    this.names = names;
    this.values = values;
    this.mask = capacity - 1;
    this.head = this.length - 1;
  }
}
