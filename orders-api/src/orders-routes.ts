import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import {
  HttpError,
  idempotent,
  methodNotAllowed,
  readJsonObject,
  requireAmount,
  requireUserId,
  requireUuid,
} from '@gozon/http';
import { toRublesNumber } from '@gozon/money';
import { acceptTraceparent, groupCalls, type Logger } from '@gozon/platform';
import {
  findOrder,
  listOrdersOfUser,
  placeOrder,
  ordersPlaced,
  placeOrders,
  prepareOrder,
  type Order,
  type OrdersDb,
  type PlaceOrder,
} from '@gozon/orders';
import type { OrdersApiConfig } from './app.ts';
import { requireDescription } from './order-fields.ts';

const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 500;

/**
 * An order as the API shows it: amounts in rubles, times as ISO strings. Its id is sent twice, as `order_id` and as
 * `id` (the same value), so a client written against the assignment's published contract, which calls it `id`, works
 * unchanged.
 */
export function toOrderJson(order: Order) {
  return {
    order_id: order.id,
    id: order.id,
    user_id: order.user_id,
    amount: toRublesNumber(order.amount),
    description: order.description,
    status: order.status,
    cancel_reason: order.cancel_reason,
    created_at: order.created_at.toISOString(),
    updated_at: order.updated_at.toISOString(),
  };
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIST_LIMIT;
  const limit = Number(raw);
  if (!/^\d+$/.test(raw) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new HttpError(400, 'INVALID_LIMIT', `limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
  }
  return limit;
}

export function ordersRoutes({
  db,
  logger,
  config,
}: {
  db: Kysely<OrdersDb>;
  logger: Logger;
  config: OrdersApiConfig;
}) {
  const orders = new Hono();
  const placeGrouped = groupCalls((inputs: PlaceOrder[]) => placeOrders(db, inputs), {
    maxBatch: config.ORDER_BATCH_SIZE,
    maxInFlight: config.ORDER_INSERTS_IN_FLIGHT,
    // Waiting for a turn at the insert is waiting for the database, as a checkout is.
    maxWaitMs: config.DB_CONNECTION_TIMEOUT_MS,
  });

  orders.post('/create/:user_id', async (c) => {
    const userId = requireUserId(c.req.param('user_id'));
    const body = await readJsonObject(c, ['amount', 'description']);
    // Its ids are chosen here, once: every attempt to place it writes the same order, so a retry cannot place a second.
    const input = prepareOrder({
      userId,
      amount: requireAmount(body.amount),
      description: requireDescription(body.description),
      // The request's span hands on its own traceparent when tracing is on (trace-requests.ts).
      traceparent: c.get('traceparent') ?? acceptTraceparent(c.req.header('traceparent')),
    });
    const response = await idempotent(c, db, async (scope) => {
      // With an Idempotency-Key the order joins the key's own transaction; without one it goes with the others.
      const order = scope.isTransaction ? await placeOrder(scope, input) : await placeGrouped(input);
      logger.debug('order.placed', { order_id: order.id, user_id: userId, amount: order.amount });
      return { status: 201, body: toOrderJson(order) };
    });
    // Counted once committed, which idempotent() has done by now; a replay placed nothing.
    if (response.status === 201 && !response.headers.has('Idempotent-Replayed')) ordersPlaced.inc();
    return response;
  });
  orders.all('/create/:user_id', methodNotAllowed(['POST']));

  orders.get('/orders/:user_id', async (c) => {
    const userId = requireUserId(c.req.param('user_id'));
    const list = await listOrdersOfUser(db, userId, parseLimit(c.req.query('limit')));
    return c.json({ user_id: userId, orders: list.map(toOrderJson) });
  });
  orders.all('/orders/:user_id', methodNotAllowed(['GET', 'HEAD']));

  orders.get('/status/:order_id', async (c) => {
    const orderId = requireUuid(c.req.param('order_id'), 'order_id');
    const order = await findOrder(db, orderId);
    if (!order) throw new HttpError(404, 'ORDER_NOT_FOUND', `no order ${orderId}`);
    return c.json(toOrderJson(order));
  });
  orders.all('/status/:order_id', methodNotAllowed(['GET', 'HEAD']));

  return orders;
}
