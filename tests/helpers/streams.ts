/**
 * @module
 * Reading streams in tests as Berth's listener reads response bodies.
 */

/** Reads a byte stream BYOB into one reused buffer of `room` bytes; returns all it gave. */
export async function readByob(
  stream: ReadableStream<Uint8Array>,
  room: number,
): Promise<Uint8Array> {
  const reader = stream.getReader({ mode: "byob" });
  const parts: Uint8Array[] = [];
  let buffer = new Uint8Array(room);
  while (true) {
    const { done, value } = await reader.read(buffer);
    if (done) break;
    parts.push(value.slice());
    buffer = new Uint8Array(value.buffer);
  }
  return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
}
