/**
 * Where the sandbox's pieces live on the host, and which files the worker's view of the
 * filesystem must contain: the Node.js binary and the shared libraries it links, nothing else
 * from the system.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project folder: the one holding package.json above this file (src/ or dist/). */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the project folder from ' + fileURLToPath(import.meta.url));
}

export function sandboxHelperPath(): string {
  return path.join(projectRoot(), 'build', 'native', 'gw_sandbox');
}

/** The compiled worker runtime (the sandbox always runs compiled code from dist/). */
export function workerRuntimePath(): string {
  return path.join(projectRoot(), 'dist', 'isolation', 'sandbox', 'worker.js');
}

/** Where a connector's sandboxed module is expected: dist/connectors/<name>/worker.js. */
export function connectorWorkerPath(connector: string): string {
  return path.join(projectRoot(), 'dist', 'connectors', connector, 'worker.js');
}

/** One file to bind read-only: host source and path inside the sandbox. */
export interface Bind {
  readonly source: string;
  readonly dest: string;
}

/**
 * A file as the sandbox must see it: its directory resolved (so /lib/x.so becomes
 * /usr/lib/x.so where /lib links to usr/lib) and its content taken from the final target.
 */
function bindFor(file: string): Bind {
  return {
    source: realpathSync(file),
    dest: path.join(realpathSync(path.dirname(file)), path.basename(file)),
  };
}

/** Library paths that `ldd` prints for a binary. */
export function parseLdd(output: string): string[] {
  const files: string[] = [];
  for (const line of output.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) files.push(m[1]);
  }
  return files;
}

/** Top-level links such as /lib -> usr/lib, recreated inside the sandbox. */
export interface Link {
  readonly target: string;
  readonly path: string;
}

export interface RuntimeFiles {
  readonly node: string;
  readonly binds: readonly Bind[];
  readonly links: readonly Link[];
}

let cached: RuntimeFiles | null = null;

/** The Node.js binary and its libraries. Runs `ldd` once per process. */
export function nodeRuntimeFiles(): RuntimeFiles {
  if (cached) return cached;
  const node = realpathSync(process.execPath);
  const out = execFileSync('ldd', [node], { encoding: 'utf8', timeout: 10_000 });
  const binds = [bindFor(node), ...parseLdd(out).map(bindFor)];
  const links: Link[] = [];
  for (const top of ['/lib', '/lib64', '/lib32', '/libx32', '/bin', '/sbin']) {
    try {
      if (lstatSync(top).isSymbolicLink()) links.push({ target: readlinkSync(top), path: top });
    } catch {
      // absent on this host
    }
  }
  cached = { node, binds, links };
  return cached;
}
