/**
 * Each microVM's private temporary folder (agent and QMP sockets) is named after the
 * gateway's pid, so that the folders of a gateway that died (its VMMs died with it through
 * pdeathsig) can be found and removed before the next VM starts.
 */
import { readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEMP_PREFIX = 'gw-vm-';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the temporary folders of gateway processes that died without cleaning up (their
 * VMMs died with them through pdeathsig). Called before each VM starts.
 */
export function sweepStaleVmDirs(tmp = os.tmpdir()): number {
  let removed = 0;
  for (const name of readdirSync(tmp)) {
    const m = new RegExp(`^${TEMP_PREFIX}(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1]))) {
      rmSync(path.join(tmp, name), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}
