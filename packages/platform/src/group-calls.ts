/**
 * Turns an operation over many inputs into one you call per input, so that
 * calls arriving together share one execution — one statement and one commit
 * for many HTTP requests instead of one each. No call waits to be grouped: while
 * fewer than `maxInFlight` executions run, a call starts one at once (alone,
 * when the service is quiet); once they all run, new calls queue and the next
 * execution takes up to `maxBatch` of them. Under load the batches grow by
 * themselves, and each caller still hears only after its own input is done.
 *
 * `run` must answer one output per input, in order, and must be safe to run
 * again on the same inputs: when an execution fails, its outcome may be unknown
 * (the connection broke after the commit), and each of its inputs is run once
 * more alone — so one input that cannot succeed fails only its own caller, and
 * an input that did succeed is answered from the second run. A caller whose
 * second run fails too gets that error.
 *
 * A call that has not started within `maxWaitMs` (milliseconds) fails with a
 * TimeoutError and is never run: a caller is not kept waiting behind a stalled
 * database longer than that.
 */
export function groupCalls<I, O>(
  run: (inputs: I[]) => Promise<O[]>,
  options: { maxBatch: number; maxInFlight: number; maxWaitMs: number },
): (input: I) => Promise<O> {
  interface Call {
    input: I;
    resolve: (output: O) => void;
    reject: (error: unknown) => void;
    expiry?: NodeJS.Timeout;
  }
  const queue: Call[] = [];
  let inFlight = 0;

  const settle = async (calls: Call[], secondRun = false): Promise<void> => {
    try {
      const outputs = await run(calls.map((call) => call.input));
      if (outputs.length !== calls.length)
        throw new Error(`groupCalls: ${outputs.length} outputs for ${calls.length} inputs`);
      calls.forEach((call, i) => call.resolve(outputs[i]!));
    } catch (error) {
      if (secondRun) calls[0]!.reject(error);
      else await Promise.all(calls.map((call) => settle([call], true)));
    }
  };

  const next = () => {
    while (inFlight < options.maxInFlight && queue.length > 0) {
      inFlight += 1;
      const calls = queue.splice(0, options.maxBatch);
      for (const call of calls) clearTimeout(call.expiry);
      void settle(calls).finally(() => {
        inFlight -= 1;
        next();
      });
    }
  };

  const expire = (call: Call) => {
    queue.splice(queue.indexOf(call), 1);
    call.reject(new DOMException(`not started within ${options.maxWaitMs} ms; it was not run`, 'TimeoutError'));
  };

  return (input) =>
    new Promise<O>((resolve, reject) => {
      const call: Call = { input, resolve, reject };
      queue.push(call);
      next();
      // Taken from the front: if the queue is not empty, the call just added is still its last.
      if (queue.at(-1) === call) call.expiry = setTimeout(expire, options.maxWaitMs, call);
    });
}
