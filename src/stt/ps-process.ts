import { spawn, type ChildProcess } from 'node:child_process';

/** The helper prints one line; a 30 s utterance gives about 300 KB of segments. */
export const MAX_RESULT_BYTES = 4 * 1024 * 1024;
/** Enough for the helper's one-line diagnostics. */
export const MAX_STDERR_BYTES = 8 * 1024;

export interface HelperExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the program could not be started, or its output overflowed. */
  readonly error: Error | null;
}

/** Collects a stream's output up to a bound; past it, calls `overflow` once. */
function collect(stream: NodeJS.ReadableStream, max: number, overflow: () => void): () => string {
  const chunks: Buffer[] = [];
  let total = 0;
  stream.on('data', (chunk: Buffer) => {
    if (total > max) return;
    total += chunk.length;
    if (total > max) overflow();
    else chunks.push(chunk);
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

/**
 * One run of native/ps_decode: audio goes to its stdin, one JSON line comes
 * back on stdout when stdin closes. `done` always resolves, never rejects.
 */
export class HelperProcess {
  readonly done: Promise<HelperExit>;
  private readonly child: ChildProcess;

  constructor(program: string, args: readonly string[]) {
    this.child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let error: Error | null = null;
    const overflow = (): void => {
      error = new Error('the helper printed more output than allowed');
      this.kill();
    };
    const stdout = collect(this.child.stdout!, MAX_RESULT_BYTES, overflow);
    const stderr = collect(this.child.stderr!, MAX_STDERR_BYTES, () => undefined);
    // A helper that exits early makes later writes fail with EPIPE; the exit
    // status reports the failure, so the write error itself is not needed.
    this.child.stdin!.on('error', () => undefined);
    this.done = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null): void =>
        resolve({ code, signal, stdout: stdout(), stderr: stderr(), error });
      this.child.once('error', (err) => {
        error = err;
        finish(null, null);
      });
      this.child.once('close', finish);
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && !this.child.killed;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  write(bytes: Uint8Array): void {
    const stdin = this.child.stdin;
    if (stdin && !stdin.destroyed && stdin.writable) stdin.write(bytes);
  }

  endInput(): void {
    const stdin = this.child.stdin;
    if (stdin && !stdin.destroyed) stdin.end();
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
