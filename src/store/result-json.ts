/**
 * What a query result weighs and how it is written as JSON. Every answer shardline gives out
 * of the cache is bounded in bytes where its rows are produced (contract 14): the size is
 * counted row by row as the rows come out of SQLite and the query stops the moment it passes
 * its limit, so no caller ever holds, copies or serializes more than the limit.
 *
 * The size of a result is the UTF-8 length of its JSON, `{"columns":[...],"rows":[[...],...]}`,
 * with every BLOB written as `{"$blob":"<base64>"}` (SQLite's other types are JSON's own:
 * text, numbers, null). That is exactly what POST /query sends; for ctx.query() and ctx.sql(),
 * which hand out the values themselves (a BLOB as a Uint8Array), it is the same measure.
 */
import { Buffer } from 'node:buffer';
import { ShardlineError } from '../core/errors.ts';

/** The key of the one-key object a BLOB becomes in JSON. */
export const BLOB_KEY = '$blob';

/** `{"$blob":""}` around the base64 text. */
const BLOB_OVERHEAD = `{"${BLOB_KEY}":""}`.length;
/** `"` ... `"` around a string. */
const QUOTES = 2;
/** Characters JSON writes as themselves, one byte each: printable ASCII but `"` and `\`. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** One SQLite value as JSON shows it: a BLOB as `{ $blob: base64 }`, a bigint as its decimal text, the rest as is. */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return { [BLOB_KEY]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * UTF-8 bytes of `toJsonValue(value)` written as JSON. Counting stops once it passes `cap`
 * (the answer is then some number above `cap`), so a huge string costs no more than the limit.
 */
export function jsonValueBytes(value: unknown, cap = Number.POSITIVE_INFINITY): number {
  if (value === null || value === undefined) return 4;
  if (typeof value === 'string') return jsonStringBytes(value, cap);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value).length : 4;
  if (typeof value === 'bigint') return value.toString().length + QUOTES;
  if (value instanceof Uint8Array) return 4 * Math.ceil(value.byteLength / 3) + BLOB_OVERHEAD;
  if (typeof value === 'boolean') return value ? 4 : 5;
  // Drivers return none of these; a custom one might. Weigh what JSON would write.
  return jsonStringBytes(JSON.stringify(value) ?? 'null', cap) - QUOTES;
}

function jsonStringBytes(text: string, cap: number): number {
  // Every character is at least one byte: a string longer than the room left needs no scan.
  if (text.length + QUOTES > cap || PLAIN.test(text)) return text.length + QUOTES;
  let bytes = QUOTES;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20) bytes += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6;
    else if (c === 0x22 || c === 0x5c) bytes += 2;
    else if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) bytes += 6; // a lone surrogate: JSON.stringify writes \udxxx
    else bytes += 3;
    if (bytes > cap) return bytes;
  }
  return bytes;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** `{"columns":` + columns + `,"rows":[` + rows + `],"truncated":false}`, less the columns and rows. */
const ENVELOPE = '{"columns":,"rows":[],"truncated":false}'.length;

/**
 * Counts a result as its rows come out of SQLite and refuses it (TOO_LARGE) the moment it
 * passes `maxBytes`: the caller stops stepping, and nothing larger than the limit is ever held.
 */
export class ResultMeter {
  readonly maxBytes: number;
  #bytes: number;
  #rows = 0;

  constructor(maxBytes: number, columns: readonly string[]) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new ShardlineError('INVALID_INPUT', `Cannot run query: maxBytes must be a positive integer, got ${maxBytes}`);
    this.maxBytes = maxBytes;
    let names = 2 + Math.max(0, columns.length - 1);
    for (const name of columns) names += jsonValueBytes(name);
    this.#bytes = ENVELOPE + names;
    this.#check();
  }

  /** Bytes counted so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds one row (`[v1,v2,...]` and the comma before it); throws TOO_LARGE once the result passes the limit. */
  add(row: readonly unknown[]): void {
    let bytes = (this.#rows > 0 ? 1 : 0) + 2 + Math.max(0, row.length - 1);
    for (const value of row) {
      bytes += jsonValueBytes(value, this.maxBytes - this.#bytes - bytes);
      if (this.#bytes + bytes > this.maxBytes) break;
    }
    this.#bytes += bytes;
    this.#rows += 1;
    this.#check();
  }

  #check(): void {
    if (this.#bytes <= this.maxBytes) return;
    throw new ShardlineError(
      'TOO_LARGE',
      `Cannot run query: its result passed maxBytes (${this.maxBytes} bytes as JSON) at row ${this.#rows}, so it was refused rather than cut short; select fewer or shorter columns (substr(), length()), add a LIMIT, or raise maxBytes`,
      { details: { maxBytes: this.maxBytes, rows: this.#rows } },
    );
  }
}

/** The JSON text of a result as POST /query answers it; the meter has already bounded its size. */
export function queryResultJson(result: { readonly columns: readonly string[]; readonly rows: readonly (readonly unknown[])[]; readonly truncated: boolean }): string {
  const rows = result.rows.map((row) => row.map(toJsonValue));
  return JSON.stringify({ columns: result.columns, rows, truncated: result.truncated });
}
