// CPU of every process of the stack, from /proc (clock ticks of user + system
// time), summed by group, and how busy the whole machine was.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { withDb } from '@gozon/testkit';
import { round } from './stats.ts';

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** Clock ticks of user + system time of each process, by pid, with its group. */
export type CpuTicks = Map<number, { group: string; ticks: number }>;

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

/** The CPU time each process of the groups has used so far; one that has exited is left out. */
export function readCpuTicks(groups: Map<number, string>): CpuTicks {
  const ticks: CpuTicks = new Map();
  for (const [pid, group] of groups) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks.set(pid, { group, ticks: Number(fields[11]) + Number(fields[12]) });
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
  const used = new Map<string, number>();
  for (const [pid, { group, ticks }] of after)
    used.set(group, (used.get(group) ?? 0) + ticks - (before.get(pid)?.ticks ?? 0));
  return Object.fromEntries([...used].map(([group, ticks]) => [group, round((100 * ticks) / TICKS / seconds)]));
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
