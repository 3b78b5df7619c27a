import type { Logger } from './logger.ts';

/** Closes one thing; what it returns is awaited, so a closer that returns a promise is waited for. */
export type Closer = () => unknown;

/** Something running that stops on request: stop() resolves once it has. */
export interface Stoppable {
  stop(): Promise<void>;
}

export interface Shutdown {
  /** Registers what to close on the way out; the last registered closes first, like a stack. */
  defer(closer: Closer): void;
  readonly stopping: boolean;
}

/**
 * Two-stage shutdown, armed before anything starts so that a SIGTERM even
 * during start-up is graceful: the first SIGTERM or SIGINT runs the closers
 * (stop taking work, finish what is in hand, close channels and pools) and
 * exits 0; a second signal or the deadline forces exit 1.
 */
export function exitOnSignal(logger: Logger, timeoutMs: number): Shutdown {
  const closers: Closer[] = [];
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
      for (const close of closers.reverse()) await close();
      logger.info('shutdown.finished');
      process.exit(0);
    } catch (error) {
      logger.error('shutdown.failed', { error });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return {
    defer: (closer) => closers.push(closer),
    get stopping() {
      return stopping;
    },
  };
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

/**
 * Leaves at once with code 1, saying why, for the orchestrator to start the
 * process anew (compose's restart policy, the stack runner): what a process
 * does when it cannot recover in-process within its bound.
 */
export function exitForRestart(logger: Logger, event: string, fields: Record<string, unknown>): never {
  logger.error(event, { ...fields, action: 'exiting for a restart' });
  process.exit(1);
}
