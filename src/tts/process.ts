import { spawn } from 'node:child_process';
import { GatewayError } from '../errors.js';

/** Bytes of a program's stderr kept for an error message. */
const STDERR_TAIL_BYTES = 2048;
/** After SIGTERM, how long a program gets before SIGKILL. */
const KILL_GRACE_MS = 2000;

export interface RunOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** Debian package that provides the command, named when it is missing. */
  readonly debianPackage: string;
  /** Written to the program's stdin, which is then closed. */
  readonly input?: Buffer;
  readonly env?: NodeJS.ProcessEnv;
  /** The program is killed and GW_ENGINE_TIMEOUT raised after this long. */
  readonly timeoutMs?: number;
  /** stdout beyond this many bytes kills the program with GW_ENGINE_FAILED. */
  readonly maxOutputBytes?: number;
  /** Error code for a non-zero exit. */
  readonly failureCode?: 'GW_ENGINE_FAILED' | 'GW_AUDIO_DEVICE';
  readonly signal?: AbortSignal;
}

export interface RunResult {
  readonly stdout: Buffer;
  /** True when the signal stopped the program; stdout holds what came before. */
  readonly aborted: boolean;
}

/**
 * Runs one program without a shell and collects its stdout, with a deadline, a
 * bound on output and abort. Resolves `aborted: true` on abort so the caller
 * decides whether an interruption is an error (synthesis) or normal (barge-in).
 */
export function runProgram(opts: RunOptions): Promise<RunResult> {
  const { command, signal } = opts;
  if (signal?.aborted) return Promise.resolve({ stdout: Buffer.alloc(0), aborted: true });
  return new Promise((resolve, reject) => {
    const child = spawn(command, opts.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    const chunks: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let failure: GatewayError | undefined;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;

    const stop = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const onAbort = (): void => {
      aborted = true;
      stop();
    };
    const deadline =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            failure ??= new GatewayError(
              'GW_ENGINE_TIMEOUT',
              `${command} did not finish within ${opts.timeoutMs} ms`,
            );
            stop();
          }, opts.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err: NodeJS.ErrnoException) => {
      failure ??=
        err.code === 'ENOENT'
          ? new GatewayError(
              'GW_ENGINE_MISSING',
              `${command} is not installed (Debian package ${opts.debianPackage})`,
              { cause: err },
            )
          : new GatewayError('GW_ENGINE_FAILED', `cannot run ${command}: ${err.message}`, {
              cause: err,
            });
    });
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (opts.maxOutputBytes !== undefined && outBytes > opts.maxOutputBytes) {
        failure ??= new GatewayError(
          'GW_ENGINE_FAILED',
          `${command} wrote more than ${opts.maxOutputBytes} bytes`,
        );
        stop();
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    // A program that exits without reading its input (or is killed) closes the pipe early.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input);

    child.on('close', (code, sig) => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
      if (failure) return reject(failure);
      if (aborted) return resolve({ stdout: Buffer.concat(chunks), aborted: true });
      if (code !== 0) {
        const how = code === null ? `signal ${sig ?? 'unknown'}` : `status ${code}`;
        const said = stderr.trim().split('\n').slice(-3).join(' / ');
        const errorCode = opts.failureCode ?? 'GW_ENGINE_FAILED';
        return reject(new GatewayError(errorCode, `${command} exited with ${how}: ${said}`));
      }
      resolve({ stdout: Buffer.concat(chunks), aborted: false });
    });
  });
}
