/**
 * The Firecracker backend, written to Firecracker's documented API (its swagger definition
 * and docs/: boot-source, drives, machine-config, vsock, logger, actions) and tested against
 * a Unix-socket server that checks each request. It has NOT run against a real Firecracker:
 * this build machine has neither the binary nor a KVM that boots a stock guest.
 *
 * Every call is a PUT with a JSON body before InstanceStart; success is 204 No Content, a
 * failure carries `{"fault_message": ...}`. No /network-interfaces call is ever made, so the
 * guest has no network device. The agent stream is vsock: the host connects to `uds_path`,
 * writes `CONNECT <port>\n` and waits for `OK <n>\n` before the first frame.
 */
import http from 'node:http';
import net from 'node:net';
import { GatewayError } from '../../errors.js';

export interface FirecrackerPlan {
  /** Uncompressed ELF kernel on x86-64 (Firecracker does not load a bzImage). */
  readonly kernel: string;
  readonly initrd: string;
  readonly rootfs: string;
  readonly cmdline: string;
  readonly memMib: number;
  readonly vsockUds: string;
  readonly logPath: string;
}

/** Guest context id: 0-2 are reserved (2 is the host). */
export const GUEST_CID = 3;
/** The vsock port the guest agent listens on. */
export const AGENT_VSOCK_PORT = 1024;

export interface ApiCall {
  readonly path: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** The configuration calls, in the order Firecracker accepts them, then InstanceStart. */
export function firecrackerCalls(plan: FirecrackerPlan): ApiCall[] {
  // Firecracker's own boot tests add these: no reboot loop, no legacy UART probing delay.
  const bootArgs = `${plan.cmdline} reboot=k panic=1 8250.nr_uarts=0`.replace(/console=\S+ ?/, '');
  return [
    { path: '/logger', body: { log_path: plan.logPath, level: 'Warning', show_level: true,
      show_log_origin: false } },
    { path: '/machine-config', body: { vcpu_count: 1, mem_size_mib: plan.memMib, smt: false } },
    { path: '/boot-source', body: { kernel_image_path: plan.kernel, initrd_path: plan.initrd,
      boot_args: bootArgs } },
    { path: '/drives/rootfs', body: { drive_id: 'rootfs', path_on_host: plan.rootfs,
      is_root_device: false, is_read_only: true } },
    { path: '/vsock', body: { guest_cid: GUEST_CID, uds_path: plan.vsockUds } },
    { path: '/actions', body: { action_type: 'InstanceStart' } },
  ];
}

/** One PUT on the API socket; resolves on 204, throws GW_VM_FAILED with the fault message. */
export function apiPut(socketPath: string, call: ApiCall, timeoutMs = 5000): Promise<void> {
  const payload = JSON.stringify(call.body);
  return new Promise((resolve, reject) => {
    const req = http.request({
      socketPath, path: call.path, method: 'PUT', timeout: timeoutMs,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json',
        'Content-Length': Buffer.byteLength(payload) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (text.length < 4096) text += c;
      });
      res.on('end', () => {
        if (res.statusCode === 204 || res.statusCode === 200) return resolve();
        let fault = text;
        try {
          fault = String((JSON.parse(text) as { fault_message?: unknown }).fault_message ?? text);
        } catch {
          // not JSON: keep the text
        }
        reject(new GatewayError('GW_VM_FAILED',
          `Firecracker refused PUT ${call.path} (${res.statusCode ?? '?'}): ${fault}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(new GatewayError('GW_VM_FAILED',
      `Firecracker API PUT ${call.path}: ${err.message}`)));
    req.end(payload);
  });
}

/** Configures and starts the VM through its API socket, one documented call at a time. */
export async function configureAndStart(socketPath: string, plan: FirecrackerPlan): Promise<void> {
  for (const call of firecrackerCalls(plan)) await apiPut(socketPath, call);
}

/** Opens the agent stream over Firecracker's vsock multiplexer (host-initiated). */
export function connectVsock(uds: string, port = AGENT_VSOCK_PORT): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(uds);
    let reply = '';
    const onData = (chunk: Buffer): void => {
      reply += chunk.toString('latin1');
      const nl = reply.indexOf('\n');
      if (nl < 0) {
        if (reply.length > 32) fail(new Error('bad vsock handshake'));
        return;
      }
      sock.off('data', onData);
      if (!/^OK \d+$/.test(reply.slice(0, nl))) return fail(new Error('vsock port refused'));
      const rest = Buffer.from(reply.slice(nl + 1), 'latin1');
      // Held until the caller has attached its listeners, so no byte after "OK" is lost.
      sock.pause();
      if (rest.length) sock.unshift(rest);
      resolve(sock);
      setImmediate(() => sock.resume());
    };
    const fail = (err: Error): void => {
      sock.destroy();
      reject(new GatewayError('GW_VM_FAILED', `vsock: ${err.message}`));
    };
    sock.on('data', onData);
    sock.once('error', fail);
    sock.once('connect', () => sock.write(`CONNECT ${port}\n`));
  });
}
