import { createServer, connect, type Socket } from 'node:net';
import { POSTGRES_URL } from './databases.ts';

// A TCP proxy between a service and PostgreSQL that fails the way networks do:
// it loses the reply to a statement that ran (the client never learns that its
// commit happened), and it stalls (holds every byte until told to go on).
// It reads PostgreSQL's wire protocol only as far as it must: backend messages
// are a type byte and a 32-bit length, and a reply ends with ReadyForQuery
// ('Z'), sent after the statement's implicit or explicit commit. Connections
// are plain text, as the tests make them. What the client sends is read as far
// as it names a statement's text: a simple Query ('Q') and a Parse ('P') carry
// it; a Bind ('B') names a statement parsed before on the same connection (the
// services prepare each statement once per connection, platform/db.ts).
// https://www.postgresql.org/docs/15/protocol-message-formats.html

const READY_FOR_QUERY = 0x5a;
const QUERY = 0x51;
const PARSE = 0x50;
const BIND = 0x42;

export interface FaultProxy {
  /** The URL of `database` on the tests' PostgreSQL, through the proxy. */
  url(database: string): string;
  /**
   * The next `times` statements whose text or parameters include `text` reach PostgreSQL and
   * run to the end, commit included; each one's reply is swallowed whole and its
   * connection closed both ways, so the client only sees the connection drop.
   * Resolves once the last of them is lost; rejects if they have not all come
   * within `timeoutMs`.
   */
  loseReplyTo(text: string, options?: { times?: number; timeoutMs?: number }): Promise<void>;
  /** Holds every byte, both ways, on every connection, new ones too, until resume(). */
  stall(): void;
  /** Passes on what was held, in order, and lets bytes flow again. */
  resume(): void;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  server: Socket;
  held: Array<{ to: Socket; bytes: Buffer }>;
  /** What the client sent that does not yet make a whole message. */
  unread: Buffer;
  /** Whether the startup message (which has no type byte) has gone by. */
  started: boolean;
  /** The text of each statement parsed on this connection, by its name ('' for the unnamed one). */
  statements: Map<string, string>;
  /** The reply being swallowed, when this link's statement is one to lose: what arrived of it so far. */
  losing?: { reply: Buffer; lost: () => void };
}

/** Starts a proxy to the tests' PostgreSQL (POSTGRES_URL) on a free port of 127.0.0.1. */
export async function startFaultProxy(): Promise<FaultProxy> {
  const target = new URL(POSTGRES_URL);
  const links = new Set<Link>();
  let stalled = false;
  let trap: { text: string; left: number; lost: () => void } | undefined;

  const pass = (link: Link, to: Socket, bytes: Buffer) => {
    if (stalled) link.held.push({ to, bytes });
    else to.write(bytes);
  };

  const end = (link: Link) => {
    links.delete(link);
    link.held = [];
    link.client.destroy();
    link.server.destroy();
  };

  /** The statements the whole messages in `link.unread` run (Query, Parse; Bind with its parameters); consumes them. */
  const statementsSent = (link: Link): string[] => {
    const texts: string[] = [];
    let unread = link.unread;
    for (;;) {
      const typed = link.started ? 1 : 0;
      if (unread.length < typed + 4) break;
      const length = unread.readUInt32BE(typed);
      if (unread.length < typed + length) break;
      const body = unread.subarray(typed + 4, typed + length);
      const type = typed ? unread[0] : undefined;
      unread = unread.subarray(typed + length);
      if (!link.started) {
        link.started = true;
        continue;
      }
      const cstrings = (count: number) => {
        const found: string[] = [];
        let at = 0;
        for (let i = 0; i < count; i += 1) {
          const zero = body.indexOf(0, at);
          found.push(body.toString('utf8', at, zero));
          at = zero + 1;
        }
        return found;
      };
      if (type === QUERY) texts.push(cstrings(1)[0]!);
      else if (type === PARSE) {
        const [name, text] = cstrings(2) as [string, string];
        link.statements.set(name, text);
        texts.push(text);
      } else if (type === BIND) {
        // The statement it runs, and its parameters (as bytes, where a test's marker may be).
        texts.push(`${link.statements.get(cstrings(2)[1]!) ?? ''}\n${body.toString('utf8')}`);
      }
    }
    link.unread = unread;
    return texts;
  };

  const fromClient = (link: Link, bytes: Buffer) => {
    // The client sends a statement only once the reply before it has ended, so this statement's
    // reply starts at a message boundary.
    link.unread = Buffer.concat([link.unread, bytes]);
    const texts = statementsSent(link);
    if (trap && !link.losing && texts.some((text) => text.includes(trap!.text))) {
      trap.left -= 1;
      link.losing = { reply: Buffer.alloc(0), lost: trap.left === 0 ? trap.lost : () => {} };
      if (trap.left === 0) trap = undefined;
    }
    pass(link, link.server, bytes);
  };

  const fromServer = (link: Link, bytes: Buffer) => {
    if (!link.losing) return pass(link, link.client, bytes);
    let reply = Buffer.concat([link.losing.reply, bytes]);
    while (reply.length >= 5 && reply.length >= 1 + reply.readUInt32BE(1)) {
      if (reply[0] === READY_FOR_QUERY) {
        end(link);
        return link.losing.lost();
      }
      reply = reply.subarray(1 + reply.readUInt32BE(1));
    }
    link.losing.reply = reply;
  };

  const server = createServer((client) => {
    const link: Link = {
      client,
      server: connect(Number(target.port || 5432), target.hostname),
      held: [],
      unread: Buffer.alloc(0),
      started: false,
      statements: new Map(),
    };
    links.add(link);
    client.on('data', (bytes) => fromClient(link, bytes));
    link.server.on('data', (bytes) => fromServer(link, bytes));
    for (const socket of [client, link.server]) {
      socket.on('error', () => end(link));
      socket.on('close', () => end(link));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    url(database) {
      const through = new URL(POSTGRES_URL);
      through.hostname = '127.0.0.1';
      through.port = String(port);
      through.pathname = `/${database}`;
      return through.toString();
    },
    loseReplyTo(text, { times = 1, timeoutMs = 10_000 } = {}) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          trap = undefined;
          reject(
            new Error(
              `fault proxy: ${times} statement(s) with ${JSON.stringify(text)} did not all come within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        trap = {
          text,
          left: times,
          lost: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const link of links) for (const { to, bytes } of link.held.splice(0)) to.write(bytes);
    },
    async close() {
      for (const link of links) end(link);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
