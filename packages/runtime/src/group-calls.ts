/**
 * Turns an operation over many inputs into one you call per input, so that
 * calls arriving together share one execution — one statement and one commit
 * for many HTTP requests instead of one each. Nothing waits on a timer: while
 * fewer than `maxInFlight` executions run, a call starts one at once (alone,
 * when the service is quiet); once they all run, new calls queue and the next
 * execution takes up to `maxBatch` of them. Under load the batches grow by
 * themselves, and each caller still hears only after its own input is done.
 *
 * `run` must answer one output per input, in order. When a batch of several
 * fails, each input is run again alone, so one input that cannot succeed fails
 * only its own caller.
 */
export function groupCalls<I, O>(run: (inputs: I[]) => Promise<O[]>, options: { maxBatch: number; maxInFlight: number }): (input: I) => Promise<O> {
  interface Call {
    input: I;
    resolve: (output: O) => void;
    reject: (error: unknown) => void;
  }
  const queue: Call[] = [];
  let inFlight = 0;

  const settle = async (calls: Call[]) => {
    try {
      const outputs = await run(calls.map((call) => call.input));
      if (outputs.length !== calls.length) throw new Error(`groupCalls: ${outputs.length} outputs for ${calls.length} inputs`);
      calls.forEach((call, i) => call.resolve(outputs[i]!));
    } catch (error) {
      if (calls.length === 1) calls[0]!.reject(error);
      else await Promise.all(calls.map((call) => settle([call])));
    }
  };

  const next = () => {
    while (inFlight < options.maxInFlight && queue.length > 0) {
      inFlight += 1;
      void settle(queue.splice(0, options.maxBatch)).finally(() => {
        inFlight -= 1;
        next();
      });
    }
  };

  return (input) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      next();
    });
}
