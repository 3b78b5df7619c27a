import { apiSettings } from '@gozon/http';
import { integer } from '@gozon/platform';
import { ORDERS_DATABASE } from '@gozon/orders';

/** Every variable this service reads, with its default; docker-compose.yml must set each. */
export const settings = {
  ...apiSettings(ORDERS_DATABASE, 3001),
  // Orders that arrive together are inserted by one statement with one commit (see groupCalls).
  ORDER_BATCH_SIZE: integer(100, 'most orders one insert statement takes', { min: 1, max: 1000 }),
  ORDER_INSERTS_IN_FLIGHT: integer(
    1,
    'insert statements running at once; orders arriving meanwhile wait and go together',
    { min: 1, max: 200 },
  ),
};
