// The load: wallets to pay from, then orders through the gateway on :8080,
// either back to back on a fixed number of connections (the maximum rate) or
// open loop at a fixed rate, recording when each request went out, how long it
// took and how it ended. Not testkit's gateway client, on purpose: the load
// generator shares the machine it measures, so it posts with node:http on a
// keep-alive agent of its own, the cheapest client per request, and parses
// nothing it does not count.
import http from 'node:http';

/** Requests in flight at most: an open-loop phase skips (and counts) what it would send beyond. */
export const MAX_IN_FLIGHT = 1024;

const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });

/** One POST to the gateway on the keep-alive agent; rejects only on a network error, never on a status. */
function post(path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((done, fail) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port: 8080,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => done({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', fail);
    request.end(body);
  });
}

/**
 * What each request of a phase did, a column per field: plain arrays of small
 * numbers cost the collector next to nothing, where an object per request (over
 * 150,000 a phase) made this process pause for up to 40 ms, and every request in
 * flight looked that much slower.
 */
export class Samples {
  readonly at: number[] = []; // ms since the phase started
  readonly latency: number[] = [];
  /** Requests not answered 201: the status, or the network error's code. */
  readonly failures: string[] = [];

  add(at: number, latency: number, outcome: number | string) {
    this.at.push(at);
    this.latency.push(latency);
    if (outcome !== 201) this.failures.push(String(outcome));
  }
}

/** A phase of the plan: `rate` orders/s open loop, or null for the maximum rate. */
export interface PhasePlan {
  name: string;
  seconds: number;
  rate: number | null;
  /** Open loop: requests sent together each time, `burst` / `rate` seconds apart (1 when absent). */
  burst?: number;
}

/** What a phase sent: its samples, the ids of the orders accepted, and when it ran (ms since the epoch). */
export interface Phase extends PhasePlan {
  started: number;
  ended: number;
  samples: Samples;
  accepted: string[];
  /** Open-loop requests not sent because MAX_IN_FLIGHT were already waiting. */
  skipped: number;
}

/** Opens a wallet for each user and tops it up far beyond what any run spends. */
export async function openWallets(users: string[]): Promise<void> {
  for (const user of users) {
    const wallet = JSON.parse((await post(`/payments/create/${user}`, '')).text) as { bill_id: string };
    await post(`/payments/add/${wallet.bill_id}`, '{"amount": 100000000}');
  }
}

/**
 * Places orders for `seconds`, the users in turn, amounts from 1.00 to 50.99:
 * at the maximum rate, `connections` requests back to back; at a fixed rate,
 * on schedule whether or not earlier ones have answered. Resolves once every
 * request sent has ended.
 */
export async function runPhase(
  { name, seconds, rate, burst = 1 }: PhasePlan,
  users: string[],
  connections: number,
): Promise<Phase> {
  const samples = new Samples();
  const accepted: string[] = [];
  let skipped = 0;
  let inFlight = 0;
  let next = 0;
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const send = async () => {
    const user = users[next++ % users.length]!;
    const at = Date.now();
    inFlight += 1;
    try {
      const response = await post(
        `/orders/create/${user}`,
        `{"amount": ${1 + (next % 50)}.${String(next % 100).padStart(2, '0')}, "description": "bench"}`,
      );
      if (response.status === 201) accepted.push((JSON.parse(response.text) as { order_id: string }).order_id);
      samples.add(at - started, Date.now() - at, response.status);
    } catch (error) {
      samples.add(at - started, Date.now() - at, (error as NodeJS.ErrnoException).code ?? String(error));
    } finally {
      inFlight -= 1;
    }
  };
  if (rate === null) {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (Date.now() < deadline) await send();
      }),
    );
  } else {
    // Open loop: requests go out on schedule whether or not earlier ones have answered.
    const pending = new Set<Promise<void>>();
    let issued = 0;
    while (Date.now() < deadline) {
      const due = Math.floor(((Date.now() - started) / 1000) * (rate / burst)) * burst;
      while (issued < due) {
        issued += 1;
        if (inFlight >= MAX_IN_FLIGHT) {
          skipped += 1;
          continue;
        }
        const request = send();
        pending.add(request);
        void request.finally(() => pending.delete(request));
      }
      // Asleep until the next request (or burst) is due (at least 1 ms): at low rates the generator
      // wakes once per request, not every 2 ms (it is counted in the machine's busy %, issue 17).
      const nextDue = started + ((issued + burst) * 1000) / rate;
      await new Promise((tick) => setTimeout(tick, Math.max(1, Math.ceil(nextDue - Date.now()))));
    }
    await Promise.all(pending);
  }
  return { name, rate, burst, seconds, started, ended: Date.now(), samples, accepted, skipped };
}

/** Closes the kept-alive connections, so that the process can exit. */
export function closeConnections(): void {
  agent.destroy();
}
