/**
 * The guest's two native helpers, compiled by the image build with the host's gcc and put
 * in the root at /opt/gw/native (read-only, hashed into the manifest like every file):
 *
 * - gw_reseed (static): after a snapshot restore, credits the host's fresh bytes to the
 *   kernel CRNG and forces a reseed (RNDADDENTROPY + RNDRESEEDCRNG), and sets the clock;
 * - gw_rand_engine.so: an OpenSSL RAND engine over getrandom(), loaded by the agent so that
 *   Node's crypto and TLS stop using the DRBG state every clone shares.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../../errors.js';

// In native/guest/, apart from the host's helpers that native/build.sh compiles.
const SOURCES = {
  reseed: 'native/guest/gw_reseed.c', engine: 'native/guest/gw_rand_engine.c',
} as const;
const FLAGS = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror'];

function gcc(args: string[]): string {
  try {
    return execFileSync('gcc', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new GatewayError('GW_IMAGE_BUILD', `gcc ${args.join(' ')}: ` +
      `${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' / ')} ` +
      '(needs gcc, libc6-dev and libssl-dev)');
  }
}

/** What goes into the image's cache key: the sources and the compiler's version. */
export function guestNativeInputs(root: string): Array<{ label: string; data: string | Buffer }> {
  return [
    { label: 'native/gcc', data: gcc(['--version']) },
    ...Object.values(SOURCES).map((f) => ({ label: f, data: readFileSync(path.join(root, f)) })),
  ];
}

/** Compiles both helpers into `dest` (…/opt/gw/native of the staging tree). */
export function compileGuestNative(root: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  gcc([...FLAGS, '-static', '-o', path.join(dest, 'gw_reseed'), path.join(root, SOURCES.reseed)]);
  // No -lcrypto: the engine's OpenSSL symbols come from the node binary that loads it.
  gcc([...FLAGS, '-shared', '-fPIC', '-o', path.join(dest, 'gw_rand_engine.so'),
    path.join(root, SOURCES.engine)]);
}
