/**
 * @module
 * Just enough Protocol Buffers wire format (varints and length-delimited fields) for the
 * KV Connect test server: decoding into field lists and encoding from them.
 */

/** A decoded field: varint values as numbers, length-delimited ones as bytes. */
export type Field = { no: number; varint: bigint } | { no: number; bytes: Uint8Array };

/** Splits a message into its fields, in order. */
export function decode(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n, shift = 0n;
    while (true) {
      if (at >= buf.length) throw new Error("Truncated varint");
      const b = buf[at++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const tag = Number(varint());
    const no = tag >>> 3, wire = tag & 7;
    if (wire === 0) out.push({ no, varint: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, bytes: buf.subarray(at, at + len) });
      at += len;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`Unsupported wire type ${wire}`);
  }
  return out;
}

/** Field values helpers over a decoded message. */
export function bytesOf(fields: Field[], no: number): Uint8Array {
  const f = fields.find((f) => f.no === no && "bytes" in f);
  return f && "bytes" in f ? f.bytes : new Uint8Array(0);
}
export function allBytes(fields: Field[], no: number): Uint8Array[] {
  return fields.filter((f) => f.no === no && "bytes" in f).map((f) =>
    (f as { bytes: Uint8Array }).bytes
  );
}
export function numberOf(fields: Field[], no: number): number {
  const f = fields.find((f) => f.no === no && "varint" in f);
  return f && "varint" in f ? Number(BigInt.asIntN(64, f.varint)) : 0;
}

/** Builds a message field by field. */
export class Writer {
  readonly #parts: number[] = [];
  #varint(v: bigint | number): void {
    let n = BigInt.asUintN(64, BigInt(v));
    while (n >= 0x80n) {
      this.#parts.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.#parts.push(Number(n));
  }
  varint(no: number, v: bigint | number): this {
    if (BigInt(v) === 0n) return this;
    this.#varint(no << 3);
    this.#varint(v);
    return this;
  }
  bytes(no: number, b: Uint8Array): this {
    this.#varint((no << 3) | 2);
    this.#varint(b.length);
    for (const x of b) this.#parts.push(x);
    return this;
  }
  finish(): Uint8Array {
    return new Uint8Array(this.#parts);
  }
}
