/**
 * @module
 * Base64 for small binary states (digest states, tokens) stored in text records.
 */
import { Buffer } from "node:buffer";

/** Standard base64 of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Bytes of a standard base64 string. */
export function decodeBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64"));
}
