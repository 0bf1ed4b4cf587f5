/**
 * @module
 * A small LRU of immutable, content-addressed bytes (manifests). Safe in a fleet: bytes
 * under a digest never change, and callers check the repository's link before serving.
 */

/** Least-recently-used cache bounded by total bytes. */
export class ByteCache {
  readonly #entries = new Map<string, Uint8Array>();
  #bytes = 0;

  /** `maxBytes` in total; entries over `maxEntryBytes` are not kept. */
  constructor(readonly maxBytes = 16 << 20, readonly maxEntryBytes = 256 << 10) {}

  get(key: string): Uint8Array | undefined {
    const value = this.#entries.get(key);
    if (value) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: Uint8Array): void {
    if (value.byteLength > this.maxEntryBytes || this.#entries.has(key)) return;
    this.#entries.set(key, value);
    this.#bytes += value.byteLength;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= v.byteLength;
    }
  }
}
