/**
 * A TCP relay on loopback in front of a test server: it forwards everything, but once the
 * client sends a request that `holds` picks, it holds the server's answers back, so that the
 * gateway is caught mid-action; `seen` resolves when such a request has reached the server
 * and been answered there.
 */
import net from 'node:net';

export class HoldingRelay {
  private readonly srv = net.createServer((c) => this.relay(c));
  private readonly sockets = new Set<net.Socket>();
  readonly seen: Promise<void>;
  private answered: () => void = () => {};

  constructor(private readonly target: number, private readonly holds: (request: string) =>
    boolean) {
    this.seen = new Promise((r) => {
      this.answered = r;
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.srv.listen(0, '127.0.0.1', r));
    return (this.srv.address() as net.AddressInfo).port;
  }

  private relay(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    let hold = false;
    client.on('data', (d) => {
      if (this.holds(d.toString('latin1'))) hold = true;
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (hold) this.answered();
      else client.write(d);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.srv.close(() => r()));
  }
}
