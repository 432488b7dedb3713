/**
 * Which layer stopped a worker. The host's own evidence comes first (the signal that killed
 * the worker, the broker's refusals); the errno the connector saw comes second. A compromised
 * worker could misreport its errno, but never its death by SIGSYS or the broker's count: the
 * errno only names the layer in the report, it grants nothing.
 */
import os from 'node:os';
import type { Layers } from './bwrap.js';
import type { WorkerError } from './worker.js';

export type Layer = 'namespaces' | 'landlock' | 'seccomp' | 'rlimit' | 'broker';

export interface Violation {
  readonly layer: Layer;
  readonly evidence: string;
}

const SIG = os.constants.signals;

/** bwrap exits with 128 + the signal that killed the sandboxed process. */
export function signalOfStatus(code: number | null): number | null {
  return code !== null && code > 128 && code < 128 + 65 ? code - 128 : null;
}

/** A death the host can attribute by itself (signal number from the exit status). */
export function violationFromSignal(signal: number): Violation | null {
  if (signal === SIG.SIGSYS) {
    return { layer: 'seccomp', evidence: 'killed by SIGSYS: a system call outside the allowlist' };
  }
  if (signal === SIG.SIGXCPU) {
    return { layer: 'rlimit', evidence: 'killed by SIGXCPU: CPU time limit (RLIMIT_CPU)' };
  }
  if (signal === SIG.SIGKILL) {
    // The host's own kills are accounted for before this is asked; the kernel sends SIGKILL
    // at the hard CPU limit.
    return { layer: 'rlimit', evidence: 'killed by SIGKILL: hard CPU time limit (RLIMIT_CPU)' };
  }
  if (signal === SIG.SIGXFSZ) {
    return { layer: 'rlimit', evidence: 'killed by SIGXFSZ: file size limit (RLIMIT_FSIZE)' };
  }
  return null;
}

const NETWORK = new Set(['ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL',
  'EAI_AGAIN', 'ENOTFOUND', 'EAI_FAIL', 'EAI_NONAME']);
const OUTSIDE_VIEW = new Set(['ENOENT', 'ENOTDIR', 'EROFS']);
const LIMITS = new Set(['EAGAIN', 'ENOMEM', 'EFBIG', 'EMFILE', 'ENFILE']);

/** The layer an error the connector reported points to, or null for an ordinary failure. */
export function violationFromError(err: WorkerError, layers: Layers): Violation | null {
  const code = err.code ?? '';
  const where = err.syscall ? ` in ${err.syscall}` : '';
  if (code === 'EGRESS_DENIED') {
    return { layer: 'broker', evidence: 'the broker refused an endpoint outside the manifest' };
  }
  if (code === 'EACCES' && layers.landlock) {
    return { layer: 'landlock', evidence: `EACCES${where}: outside the Landlock rules` };
  }
  if (code === 'EPERM' || code === 'EACCES') {
    return { layer: 'namespaces', evidence: `${code}${where}: no capabilities in the sandbox` };
  }
  if (NETWORK.has(code)) {
    return { layer: 'namespaces', evidence: `${code}${where}: no network in the sandbox` };
  }
  if (OUTSIDE_VIEW.has(code)) {
    return { layer: 'namespaces', evidence: `${code}${where}: not in the sandbox's filesystem` };
  }
  if (code === 'ENOSPC' && err.syscall === 'unshare') {
    // bwrap --disable-userns leaves no room for another user namespace.
    return { layer: 'namespaces', evidence: 'ENOSPC in unshare: nested user namespaces disabled' };
  }
  if (LIMITS.has(code)) {
    return { layer: 'rlimit', evidence: `${code}${where}: resource limit` };
  }
  if (err.name === 'RangeError' && /allocation failed|out of memory/i.test(err.message)) {
    return { layer: 'rlimit', evidence: 'memory allocation refused (RLIMIT_AS)' };
  }
  return null;
}
