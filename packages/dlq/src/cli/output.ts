// How the tool writes: tables for people, and the errors and counts beside them.
/** The URL without its password, for messages. */
export function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** An error's own words; a connect that failed on every address (AggregateError) has none of its own. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') return error.errors.map(describeError).join('; ');
  return (error instanceof Error && error.message) || String(error);
}

/** A value for a table cell: on one line, at most `width` characters with an ellipsis, '-' when missing. */
export function cell(value: string | undefined, width: number): string {
  const text = (value ?? '-').replace(/\s+/g, ' ');
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** Rows as lines of aligned columns; the first row is the heading. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((value, column) => (column === row.length - 1 ? value : value.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** A closing count: on stdout under a table, on stderr with --json so that stdout carries only the objects. */
export function summarize(line: string, json: boolean): void {
  if (json) console.error(line);
  else console.log(line);
}

/** The requested ids that matched nothing, each said on stderr as "not found: no <what> with message id <id><where>"; true when any. */
export function reportMissingIds(
  ids: readonly string[],
  found: Array<{ messageId: string | undefined }>,
  what: string,
  where = '',
): boolean {
  const missing = ids.filter((id) => !found.some((one) => one.messageId === id));
  for (const id of missing) console.error(`not found: no ${what} with message id ${id}${where}`);
  return missing.length > 0;
}
