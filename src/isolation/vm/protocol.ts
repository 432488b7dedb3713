/**
 * The messages between the host and the guest agent, over the one byte stream the VMM gives
 * (virtio-serial under QEMU here, vsock under Firecracker). Each message is one frame of
 * src/isolation/sandbox/frame.ts (4-byte length, JSON), capped in size before it is buffered.
 *
 * One action per VM:
 *   guest -> host  ready                      the agent is up (boot time is measured to here)
 *   host  -> guest run {module, request}      the action, its settings and secrets
 *   guest -> host  result {response}         the connector's answer; then the VM ends
 *
 * After a snapshot restore (and on the VM a snapshot was just taken of), the host speaks first:
 *   host  -> guest resume {entropy, nowMs}    fresh random bytes, the host's clock
 *   guest -> host  ready {fresh: true}        the kernel CRNG was reseeded, the clock set
 * Clones of one snapshot share RNG state until then; a guest that cannot reseed says
 * ready {fresh: false, error} and the host destroys it.
 *
 * Egress, multiplexed on the same stream by connection id. The host opens only endpoints the
 * call allows; bytes travel base64-encoded, in chunks well under the frame cap:
 *   guest -> host  open {id, host, port}  |  data {id, b64}  |  end {id}
 *   host  -> guest opened {id} | refused {id, reason} | data {id, b64} | end {id}
 */
import type { WorkerRequest, WorkerResponse } from '../sandbox/worker.js';

/** Largest frame either side accepts. */
export const MAX_VM_FRAME_BYTES = 1024 * 1024;
/** Largest raw chunk put in one data frame (base64 grows it by a third). */
export const MAX_DATA_CHUNK = 48 * 1024;
/** Connections one call may ask for, allowed or not. */
export const MAX_VM_CONNECTIONS = 8;
/** Random bytes the host sends after a restore (the guest's reseed helper takes 32..256). */
export const RESUME_ENTROPY_BYTES = 64;

export type GuestMessage =
  | { readonly t: 'ready'; readonly uptimeMs: number; readonly fresh?: boolean;
      readonly reseedMs?: number; readonly error?: string }
  | { readonly t: 'result'; readonly response: WorkerResponse }
  | { readonly t: 'open'; readonly id: number; readonly host: string; readonly port: number }
  | { readonly t: 'data'; readonly id: number; readonly b64: string }
  | { readonly t: 'end'; readonly id: number };

export type HostMessage =
  | { readonly t: 'run'; readonly module: string; readonly request: WorkerRequest }
  | { readonly t: 'resume'; readonly entropy: string; readonly nowMs: number }
  /** Import the connector module now, while the confirmation is awaited; runs nothing. */
  | { readonly t: 'load'; readonly module: string }
  | { readonly t: 'opened'; readonly id: number }
  | { readonly t: 'refused'; readonly id: number; readonly reason: string }
  | { readonly t: 'data'; readonly id: number; readonly b64: string }
  | { readonly t: 'end'; readonly id: number };
