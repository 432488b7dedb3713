/**
 * Audio received from a stream and not yet heard by the pipeline. The socket is paused
 * (TCP backpressure on the sender) once `highWater` samples wait, and resumed below half of
 * it; past `hardLimit` (frames already in flight when the pause took effect, or a client
 * that ignores TCP flow control through a proxy) the stream is failed rather than growing.
 */
export class AudioQueue implements AsyncIterable<Int16Array> {
  private readonly items: Int16Array[] = [];
  private queued = 0;
  private ended = false;
  private wake: (() => void) | null = null;
  private paused = false;

  constructor(
    private readonly highWater: number,
    private readonly hardLimit: number,
    private readonly flow: { pause(): void; resume(): void },
  ) {}

  get samples(): number {
    return this.queued;
  }

  /** False when the hard limit would be passed (the frame is dropped). */
  push(samples: Int16Array): boolean {
    if (this.ended || samples.length === 0) return true;
    if (this.queued + samples.length > this.hardLimit) return false;
    this.items.push(samples);
    this.queued += samples.length;
    if (!this.paused && this.queued >= this.highWater) {
      this.paused = true;
      this.flow.pause();
    }
    this.wake?.();
    return true;
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Int16Array> {
    for (;;) {
      const next = this.items.shift();
      if (next) {
        this.queued -= next.length;
        if (this.paused && this.queued < this.highWater / 2) {
          this.paused = false;
          this.flow.resume();
        }
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }
}
