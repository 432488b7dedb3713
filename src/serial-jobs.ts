import { GatewayError } from './errors.js';

/**
 * Runs an engine's jobs one at a time, in call order (an ONNX session must not see two
 * frames of one stream at once), and refuses new ones once closed. A failed job does not
 * stop the ones queued after it.
 */
export class SerialJobs {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** `what` names the engine in the error a job gets after close(), e.g. `the VAD`. */
  constructor(private readonly what: string) {}

  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.closed) {
      return Promise.reject(new GatewayError('GW_ENGINE_FAILED', `${this.what} is closed`));
    }
    const result = this.tail.then(job);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Refuses further jobs, then waits for the queued ones; false when already closed. */
  async close(): Promise<boolean> {
    if (this.closed) return false;
    this.closed = true;
    await this.tail;
    return true;
  }
}
