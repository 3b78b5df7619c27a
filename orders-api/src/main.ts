import { runApiService } from '@gozon/http';
import type { OrdersDb } from '@gozon/orders';
import { createApp } from './app.ts';
import { startOrderChangeFeed } from './order-change-feed.ts';
import { settings } from './settings.ts';

const service = 'orders-api';

await runApiService<OrdersDb, typeof settings>({
  service,
  settings,
  createApp: ({ db, logger, config, defer }) => {
    const changes = startOrderChangeFeed({
      databaseUrl: config.DATABASE_URL,
      db,
      logger,
      service,
      connectTimeoutMs: config.DB_CONNECTION_TIMEOUT_MS,
      pingMs: config.LISTEN_PING_MS,
    });
    defer(() => changes.stop());
    return createApp({ db, logger, config, changes });
  },
});
