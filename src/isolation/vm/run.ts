/**
 * One critical action in one microVM, start to end: launch (verify the image, then a warm
 * VM, a restored snapshot or a cold boot: launch.ts), run the action, destroy the VM and its
 * files. The host kills the VM at the boot deadline and at the action deadline; it never
 * waits on the guest. Callers that want to hide the boot behind the confirmation prompt use
 * launchVm() directly.
 */
import type { VmActionRequest, VmLaunchOptions } from './launch.js';
import { launchVm } from './launch.js';
import type { VmResult } from './verdict.js';

export type { VmResult } from './verdict.js';
export { sweepStaleVmDirs } from './vm.js';

export interface VmCall extends VmLaunchOptions, VmActionRequest {}

export async function runInVm(call: VmCall): Promise<VmResult> {
  const handle = launchVm(call);
  try {
    return await handle.run(call);
  } finally {
    await handle.destroy();
  }
}
