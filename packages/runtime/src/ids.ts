import { randomBytes } from 'node:crypto';

// UUIDv7: time-ordered, so the outbox is claimed oldest first through the
// primary key and new rows land at the right edge of every index.
export function newId(now = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A W3C traceparent for work that did not arrive with one. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function acceptTraceparent(header: string | undefined): string {
  return header !== undefined && TRACEPARENT.test(header) ? header : newTraceparent();
}
