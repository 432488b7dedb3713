import { describe, expect, it } from 'vitest';
import { SerialJobs } from '../../src/serial-jobs.js';

/** A promise and the function that settles it, so a test decides when a job finishes. */
function gate(): { done: Promise<void>; open: () => void } {
  let open = (): void => {};
  const done = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { done, open };
}

describe('SerialJobs', () => {
  it('starts a job only after the one before it has finished', async () => {
    const jobs = new SerialJobs('the engine');
    const log: string[] = [];
    const first = gate();
    const a = jobs.run(async () => {
      log.push('a start');
      await first.done;
      log.push('a end');
      return 'a';
    });
    const b = jobs.run(async () => {
      log.push('b start');
      return 'b';
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(['a start']);
    first.open();
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(log).toEqual(['a start', 'a end', 'b start']);
  });

  it('runs the next job when one fails, and gives the failure to its caller', async () => {
    const jobs = new SerialJobs('the engine');
    const failed = jobs.run(async () => {
      throw new Error('boom');
    });
    const next = jobs.run(async () => 2);
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe(2);
  });

  it('waits for queued jobs on close, then refuses new ones with GW_ENGINE_FAILED', async () => {
    const jobs = new SerialJobs('the engine');
    const running = gate();
    let finished = false;
    const job = jobs.run(async () => {
      await running.done;
      finished = true;
    });
    const closing = jobs.close();
    await expect(jobs.run(async () => 1)).rejects.toMatchObject({
      code: 'GW_ENGINE_FAILED',
      message: 'the engine is closed',
    });
    running.open();
    await expect(closing).resolves.toBe(true);
    expect(finished).toBe(true);
    await job;
  });

  it('reports a second close as already closed', async () => {
    const jobs = new SerialJobs('the engine');
    expect(await jobs.close()).toBe(true);
    expect(await jobs.close()).toBe(false);
  });
});
