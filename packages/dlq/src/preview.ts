const PREVIEW_LENGTH = 120;

/**
 * The start of a message body on one line (whitespace runs become one space),
 * at most 120 characters with an ellipsis, as the DLQ tool shows it for a dead
 * letter or a set-aside outbox row alike. Never throws: bytes that are not
 * UTF-8 come out as replacement characters.
 */
export function previewOf(content: Buffer | string): string {
  const text = (typeof content === 'string' ? content : content.toString('utf8')).replace(/\s+/g, ' ').trim();
  return text.length > PREVIEW_LENGTH ? `${text.slice(0, PREVIEW_LENGTH - 1)}…` : text;
}
