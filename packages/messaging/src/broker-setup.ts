// The broker's setup step: Gozon's vhost, users and permissions, loaded as
// definitions, before any relay or worker connects. Compose runs it as a
// one-shot service against the management API; `npm run stack` runs it
// natively through rabbitmqctl (no management plugin needed).
import { spawn } from 'node:child_process';
import { amqpSettings, commonSettings, integer, text, url } from '@gozon/platform';
import {
  BROKER_USERS,
  LOCAL_BROKER_URL,
  amqpUrlAs,
  type BrokerDefinitions,
  type BrokerUserOf,
} from './broker-users.ts';

/** The variable a broker user's password comes from: "orders-relay" → ORDERS_RELAY_AMQP_PASSWORD. */
export function brokerPasswordVariable(of: BrokerUserOf): string {
  return `${of.toUpperCase().replace(/-/g, '_')}_AMQP_PASSWORD`;
}

/** Every broker user's password setting, with its development default (a laptop's; .env sets real ones). */
export const brokerPasswordSettings = Object.fromEntries(
  (Object.keys(BROKER_USERS) as BrokerUserOf[]).map((of) => [
    brokerPasswordVariable(of),
    text(`${of}-dev-password`, `password of the broker user ${BROKER_USERS[of]} (development default)`),
  ]),
) as Record<string, ReturnType<typeof text>>;

/** What `packages/messaging/bin/setup-broker.ts` reads. AMQP_URL is an administrator's, naming the vhost to set up. */
export const brokerSetupSettings = {
  LOG_LEVEL: commonSettings.LOG_LEVEL,
  ...amqpSettings,
  AMQP_URL: url(
    amqpUrlAs(LOCAL_BROKER_URL, 'guest', 'guest'),
    'RabbitMQ, as an administrator, and the vhost to set up',
    ['amqp:', 'amqps:'],
  ),
  RABBITMQ_MANAGEMENT_URL: text(
    '',
    'RabbitMQ management API (http://host:15672) to load the definitions through; empty: rabbitmqctl on this machine',
  ),
  RABBITMQ_SETUP_TIMEOUT_MS: integer(30_000, 'most the whole setup may take', { min: 1000, max: 600_000 }),
  ...brokerPasswordSettings,
};

/**
 * Loads `definitions` into the broker: POST /api/definitions of the management
 * API at `managementUrl`, as the user and password of `adminUrl` (an AMQP URL);
 * or, with no managementUrl, `rabbitmqctl import_definitions` on this machine
 * (which must be allowed to run it: root or the rabbitmq user). Rejects with
 * the broker's answer if it refuses, or after `timeoutMs`.
 */
export async function importDefinitions(
  definitions: BrokerDefinitions,
  via: { managementUrl: string; adminUrl: string; timeoutMs: number },
): Promise<void> {
  const body = JSON.stringify(definitions);
  if (via.managementUrl) {
    const admin = new URL(via.adminUrl);
    const credentials = `${decodeURIComponent(admin.username)}:${decodeURIComponent(admin.password)}`;
    const response = await fetch(new URL('/api/definitions', via.managementUrl), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
      },
      body,
      signal: AbortSignal.timeout(via.timeoutMs),
    });
    if (!response.ok)
      throw new Error(`the management API refused the definitions: ${response.status} ${await response.text()}`);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn('rabbitmqctl', ['import_definitions', '--quiet'], {
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: via.timeoutMs,
    });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`rabbitmqctl import_definitions failed (${signal ?? code}): ${errors.trim()}`)),
    );
    child.stdin.end(body);
  });
}
