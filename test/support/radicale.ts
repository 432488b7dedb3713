/**
 * A real Radicale CalDAV server (the Debian package) for tests: its own temporary storage,
 * configuration and htpasswd file, listening on a free loopback port. Calendars are laid
 * down in Radicale's file-system storage before it starts, one item file per event UID,
 * which is how Radicale itself stores what clients PUT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RadicaleCalendar {
  /** Collection name in the URL, e.g. "work". */
  readonly name: string;
  readonly displayName: string;
  /** Item file name -> one VCALENDAR text (all its components share one UID). */
  readonly items: Readonly<Record<string, string>>;
}

export interface RadicaleOptions {
  readonly user: string;
  readonly password: string;
  readonly calendars: readonly RadicaleCalendar[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export class RadicaleServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly output: string[],
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What Radicale printed (its log at warning level), for failure messages. */
  get log(): string {
    return this.output.join('');
  }

  static async start(options: RadicaleOptions): Promise<RadicaleServer> {
    const dir = await mkdtemp(path.join(tmpdir(), 'gw-radicale-'));
    const root = path.join(dir, 'collections', 'collection-root', options.user);
    for (const cal of options.calendars) {
      const folder = path.join(root, cal.name);
      await mkdir(folder, { recursive: true });
      await writeFile(path.join(folder, '.Radicale.props'), JSON.stringify({
        tag: 'VCALENDAR', 'D:displayname': cal.displayName,
        'C:supported-calendar-component-set': 'VEVENT',
      }));
      for (const [file, text] of Object.entries(cal.items)) {
        await writeFile(path.join(folder, file), text);
      }
    }
    await writeFile(path.join(dir, 'users'), `${options.user}:${options.password}\n`);
    const port = await freePort();
    await writeFile(path.join(dir, 'config'), [
      '[server]', `hosts = 127.0.0.1:${port}`,
      '[auth]', 'type = htpasswd', `htpasswd_filename = ${path.join(dir, 'users')}`,
      'htpasswd_encryption = plain', 'delay = 0',
      '[rights]', 'type = owner_only',
      '[storage]', `filesystem_folder = ${path.join(dir, 'collections')}`,
      '[web]', 'type = none',
      '[logging]', 'level = warning', 'mask_passwords = True',
    ].join('\n'));
    const child = spawn('radicale', ['--config', path.join(dir, 'config')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
    child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
    const server = new RadicaleServer(dir, port, child, output);
    // Bounded in count, not time: Radicale is up when its port accepts a connection.
    for (let i = 0; i < 200; i += 1) {
      if (child.exitCode !== null) break;
      if (await canConnect(port)) return server;
      await new Promise((r) => setTimeout(r, 50));
    }
    await server.close();
    throw new Error(`Radicale did not start: ${output.join('')}`);
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
