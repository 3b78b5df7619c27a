// CPU of every process of the stack, from /proc (clock ticks of user + system
// time), and how often it woke (its threads' voluntary context switches: each
// is a sleep — epoll, a futex, a timer — that something ended), summed by
// group, and how busy the whole machine was.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { withDb } from '@gozon/testkit';
import { round } from './stats.ts';

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
export const TICKS = 100;

/** Clock ticks of user + system time and wake-ups of each process, by pid, with its group. */
export type CpuTicks = Map<number, { group: string; ticks: number; wakeups: number }>;

/** Busy and all ticks of the whole machine, all cores. */
export interface MachineTicks {
  busy: number;
  total: number;
}

/**
 * Which process is whose: the stack's own (pids.json in `stackDir`), RabbitMQ,
 * nginx, Prometheus (the observed run's), this load generator (and the observed
 * run's span collector), and PostgreSQL's backends by the service they
 * serve — every pool names its service in application_name — and its own
 * background work by kind (walwriter, autovacuum, ...).
 */
export async function readProcessGroups(stackDir: string): Promise<Map<number, string>> {
  const groups = new Map<number, string>();
  const pids = JSON.parse(readFileSync(join(stackDir, 'pids.json'), 'utf8')) as Record<string, number>;
  for (const [name, pid] of Object.entries(pids)) groups.set(pid, name === 'gateway' ? 'nginx' : name);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      const pid = Number(entry);
      if (comm === 'postgres') groups.set(pid, 'postgresql: other');
      else if (comm === 'beam.smp') groups.set(pid, 'rabbitmq');
      else if (comm === 'prometheus') groups.set(pid, 'prometheus');
      else if (comm === 'nginx' && !groups.has(pid)) groups.set(pid, 'nginx');
    } catch {
      // gone
    }
  }
  const backends = await withDb('postgres', (client) =>
    client.query<{ pid: number; name: string }>(
      `select pid, case when backend_type = 'client backend' then coalesce(nullif(application_name, ''), 'other') else backend_type end as name from pg_stat_activity`,
    ),
  );
  for (const { pid, name } of backends.rows) groups.set(pid, `postgresql: ${name}`);
  groups.set(process.pid, 'bench (load generator)');
  return groups;
}

/**
 * Voluntary context switches of all of a process's threads so far (proc(5):
 * /proc/PID/task/TID/status, voluntary_ctxt_switches): how many times it went
 * to sleep waiting and was woken. Node's event loop, libuv's pool, PostgreSQL's
 * backend and RabbitMQ's schedulers each count.
 */
function readWakeups(pid: number): number {
  let wakeups = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      wakeups += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // the thread ended
    }
  }
  return wakeups;
}

/** The CPU time and wake-ups each process of the groups has had so far; one that has exited is left out. */
export function readCpuTicks(groups: Map<number, string>): CpuTicks {
  const ticks: CpuTicks = new Map();
  for (const [pid, group] of groups) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks.set(pid, { group, ticks: Number(fields[11]) + Number(fields[12]), wakeups: readWakeups(pid) });
    } catch {
      // exited
    }
  }
  return ticks;
}

/**
 * % of one core per group over `seconds` between two readings. Each process
 * counts what it used between them; one that started meanwhile counts from
 * zero, one that exited meanwhile (a short-lived PostgreSQL backend) is left
 * out rather than subtracted.
 */
export function toCpuPercent(before: CpuTicks, after: CpuTicks, seconds: number): Record<string, number> {
  const used = sumByGroup(before, after, 'ticks');
  return Object.fromEntries([...used].map(([group, ticks]) => [group, round((100 * ticks) / TICKS / seconds)]));
}

/** Wake-ups per completed order per group between two readings, counted as toCpuPercent counts CPU. */
export function toWakeupsPerOrder(before: CpuTicks, after: CpuTicks, orders: number): Record<string, number> {
  const woken = sumByGroup(before, after, 'wakeups');
  return Object.fromEntries([...woken].map(([group, n]) => [group, round(n / Math.max(1, orders), 2)]));
}

/** Clock ticks (or wake-ups) each group used between two readings, counted as toCpuPercent counts CPU. */
export function sumByGroup(before: CpuTicks, after: CpuTicks, field: 'ticks' | 'wakeups'): Map<string, number> {
  const used = new Map<string, number>();
  for (const [pid, reading] of after)
    used.set(reading.group, (used.get(reading.group) ?? 0) + reading[field] - (before.get(pid)?.[field] ?? 0));
  return used;
}

/** The machine's ticks so far, from /proc/stat's first line: idle and iowait are not busy. */
export function readMachineTicks(): MachineTicks {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const ticks = values.map(Number);
  const idle = ticks[3]! + ticks[4]!;
  const total = ticks.slice(0, 8).reduce((sum, t) => sum + t, 0);
  return { busy: total - idle, total };
}

/** % of the whole machine (all cores) busy between two readings. */
export function toBusyPercent(before: MachineTicks, after: MachineTicks): number {
  return round((100 * (after.busy - before.busy)) / (after.total - before.total));
}
