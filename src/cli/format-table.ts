/** Renders query results as an aligned text table for a terminal. */
export function formatTable(columns: readonly string[], rows: readonly unknown[][], options: { maxWidth?: number } = {}): string {
  const maxWidth = options.maxWidth ?? 60;
  const cell = (value: unknown): string => {
    const text = value === null ? 'NULL' : value instanceof Uint8Array ? `<${value.byteLength} bytes>` : isJsonBlob(value) ? `<${blobBytes(value.$blob)} bytes>` : String(value);
    const flat = text.replace(/\s+/g, ' ');
    return flat.length > maxWidth ? `${flat.slice(0, maxWidth - 1)}…` : flat;
  };
  const body = rows.map((row) => columns.map((_, i) => cell(row[i])));
  const widths = columns.map((name, i) => Math.max(name.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ').trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)].join('\n');
}

/** A BLOB as POST /query answers it (src/store/result-json.ts). */
function isJsonBlob(value: unknown): value is { $blob: string } {
  return typeof value === 'object' && value !== null && typeof (value as { $blob?: unknown }).$blob === 'string';
}

function blobBytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}
