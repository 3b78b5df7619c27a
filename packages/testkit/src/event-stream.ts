/** One Server-Sent Event as a client sees it; fields it did not carry are absent. */
export interface ServerSentEvent {
  event?: string;
  id?: string;
  data: string;
}

/** How a read of an event stream ended. */
export interface EventStreamEnd {
  /** The response's status, or 0 if no response came (nothing listened, or the connection broke first). */
  status: number;
  /** The response's headers (none without a response). */
  headers: Headers;
  /** The body of a refusal (a status other than 200); empty for a stream. */
  refusal: string;
}

/**
 * Opens `url` as an event stream (sending `lastEventId` as Last-Event-ID) and
 * calls `onOpen` once it is open and `onEvent` for each event, comment lines skipped, until the stream ends,
 * its connection breaks, or `signal` aborts. Resolves, never rejects, with how it ended.
 */
export async function readEventStream(
  url: string,
  options: {
    lastEventId?: string;
    signal?: AbortSignal;
    /** Called once the stream's response (200) has come, before any event. */
    onOpen?: () => void;
    onEvent: (event: ServerSentEvent) => void;
  },
): Promise<EventStreamEnd> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: {
        accept: 'text/event-stream',
        ...(options.lastEventId === undefined ? {} : { 'last-event-id': options.lastEventId }),
      },
      signal: options.signal,
    });
  } catch {
    return { status: 0, headers: new Headers(), refusal: '' };
  }
  const { headers } = response;
  if (response.status !== 200 || !response.body)
    return { status: response.status, headers, refusal: await response.text().catch(() => '') };
  options.onOpen?.();
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of response.body) {
      buffered += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = parseEvent(block);
        if (event) options.onEvent(event);
      }
    }
  } catch {
    // The connection broke (the server died) or the reader was aborted: the stream has ended either way.
  }
  return { status: 200, headers, refusal: '' };
}

function parseEvent(block: string): ServerSentEvent | undefined {
  const event: ServerSentEvent = { data: '' };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'event') event.event = value;
    else if (field === 'id') event.id = value;
  }
  if (data.length === 0) return undefined;
  event.data = data.join('\n');
  return event;
}
