/**
 * A string column's value handed over already encoded: well-formed UTF-8 bytes (the caller's
 * promise) and the length of the string they encode, in UTF-16 code units. The Parquet writer
 * copies the bytes into its page as they are. A mix's pass-2 threads encode each written text once
 * and the main thread writes it from a view of the scatter file it read, instead of decoding it
 * into a string (v8.deserialize) and encoding it again (TextEncoder): those copies into fresh
 * memory were ~0.15 s of the main thread's 0.5 s write in the re-mix bench. `chars` keeps the
 * row-group byte estimate what it is for the string (row groups are cut at the same rows).
 * Writers other than Parquet take strings.
 */
export class Utf8Text extends Uint8Array {
  /** Length of the encoded string in UTF-16 code units. */
  chars = 0;
}

/** The bytes `buf[start, end)` (a view, not a copy) as the text of a string of `chars` code units. */
export function utf8Text(buf: Uint8Array, start: number, end: number, chars: number): Utf8Text {
  const t = new Utf8Text(buf.buffer as ArrayBuffer, buf.byteOffset + start, end - start);
  t.chars = chars;
  return t;
}
