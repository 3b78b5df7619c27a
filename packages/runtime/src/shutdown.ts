import type { Logger } from './logger.ts';

export type Closer = () => Promise<void> | void;

// Two-stage shutdown: the first SIGTERM or SIGINT runs the closers in order
// (stop taking work, finish what is in hand, close pools and channels) and exits
// 0; a second signal or the deadline forces exit 1.
export function exitOnSignal(logger: Logger, closers: Closer[], timeoutMs: number): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn('shutdown.forced', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('shutdown.started', { signal });
    const deadline = setTimeout(() => {
      logger.error('shutdown.timed_out', { timeout_ms: timeoutMs });
      process.exit(1);
    }, timeoutMs);
    deadline.unref();
    try {
      for (const close of closers) await close();
      logger.info('shutdown.finished');
      process.exit(0);
    } catch (error) {
      logger.error('shutdown.failed', { error });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** A crash must say why, in the same structured log, before the process dies. */
export function logFatalErrors(logger: Logger): void {
  process.on('unhandledRejection', (error) => {
    logger.error('process.unhandled_rejection', { error });
    process.exit(1);
  });
  process.on('uncaughtException', (error) => {
    logger.error('process.uncaught_exception', { error });
    process.exit(1);
  });
}
