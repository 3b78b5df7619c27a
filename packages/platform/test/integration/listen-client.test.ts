import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type Socket } from 'node:net';
import { closeListenClient, createListenClient } from '@gozon/platform';

// A LISTEN connection whose peer went silent must still be closed: pg's end()
// waits for the server to close its side, and a partitioned or stalled server
// never does. Here a server that accepts the connection, then reads and
// answers nothing more and never closes, stands in for one.

/** AuthenticationOk, then ReadyForQuery (idle): all pg needs to count itself connected. */
const HANDSHAKE = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0, 0x5a, 0, 0, 0, 5, 0x49]);

const close = suite('closing a LISTEN client whose server went silent');
let server: Server;
const sockets = new Set<Socket>();

close.before(async () => {
  // Half-open allowed: the client's FIN does not make this side close, as a dead peer would not.
  server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('data', () => socket.write(HANDSHAKE));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

close.after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

close('resolves, and the connection is gone on this side', async () => {
  const { port } = server.address() as { port: number };
  const client = createListenClient(`postgres://postgres@127.0.0.1:${port}/postgres`, 'listen-client-test');
  client.on('error', () => {});
  await client.connect();
  await closeListenClient(client, 200);
  assert.ok(client.connection.stream.destroyed, 'its socket is destroyed');
});

close.run();
