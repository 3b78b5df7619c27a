import type { LogLevel } from './config.ts';
import { logContext } from './log-context.ts';

// One JSON object per line on stdout: what happened, to which order or message.

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function serializeError(error: unknown): unknown {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(code === undefined ? {} : { code }), stack: error.stack };
  }
  return error;
}

function toJson(record: LogFields): string {
  return JSON.stringify(record, (key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (key === 'error' || key === 'err') return serializeError(value);
    return value;
  });
}

export function createLogger(
  service: string,
  level: LogLevel = 'info',
  base: LogFields = {},
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const threshold = SEVERITY[level];
  const emit =
    (at: LogLevel) =>
    (event: string, fields: LogFields = {}) => {
      if (SEVERITY[at] < threshold) return;
      write(
        `${toJson({ time: new Date().toISOString(), level: at, service, pid: process.pid, event, ...base, ...logContext(), ...fields })}\n`,
      );
    };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createLogger(service, level, { ...base, ...fields }, write),
  };
}
