/**
 * Starts test/servers/modbus_server.py (pymodbus, Debian's python3-pymodbus) on a free
 * loopback port for one test file, waits until it accepts connections, and reads coils and
 * registers back with modbus-serial's own TCP client: the tests check the device, not the
 * connector's word for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import modbusSerial from 'modbus-serial';

const SCRIPT = path.join(import.meta.dirname, 'modbus_server.py');
const ModbusRTU = modbusSerial.default;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export class ModbusServer {
  /** Every line the server printed ("write coil 7 = 1", ...). */
  output = '';

  private constructor(readonly port: number, private readonly child: ChildProcess) {}

  static async start(opts: { unit?: number; ignoreWrites?: boolean } = {}):
  Promise<ModbusServer> {
    const port = await freePort();
    const args = [SCRIPT, '--port', String(port), '--unit', String(opts.unit ?? 1)];
    if (opts.ignoreWrites) args.push('--ignore-writes');
    const child = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new ModbusServer(port, child);
    child.stdout?.on('data', (d: Buffer) => { server.output += d.toString('utf8'); });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    for (;;) {
      if (child.exitCode !== null) throw new Error(`modbus server exited: ${stderr}`);
      if (await accepts(port)) return server;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The writes the server was asked to do, as it printed them. */
  writes(): string[] {
    return this.output.split('\n').filter((l) => l.startsWith('write '));
  }

  async withClient<T>(unit: number, fn: (c: InstanceType<typeof ModbusRTU>) => Promise<T>):
  Promise<T> {
    const c = new ModbusRTU();
    await c.connectTCP('127.0.0.1', { port: this.port });
    c.setID(unit);
    c.setTimeout(10_000);
    try {
      return await fn(c);
    } finally {
      await new Promise<void>((resolve) => c.close(() => resolve()));
    }
  }

  async coil(address: number, unit = 1): Promise<boolean> {
    return this.withClient(unit, async (c) => (await c.readCoils(address, 1)).data[0] === true);
  }

  async setCoil(address: number, on: boolean, unit = 1): Promise<void> {
    await this.withClient(unit, (c) => c.writeCoil(address, on));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}
