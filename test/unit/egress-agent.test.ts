import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokeredAgent } from '../../src/connectors/egress/agent.js';

let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, method: req.method }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => server.close());

function get(agent: http.Agent, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('brokered http agent', () => {
  it('sends every request over a stream the connect function opened', async () => {
    const opened: string[] = [];
    const connect = (host: string, p: number): Promise<Duplex> => {
      opened.push(`${host}:${p}`);
      return new Promise((resolve, reject) => {
        const s = net.connect({ host, port: p }, () => resolve(s));
        s.once('error', reject);
      });
    };
    const url = `http://127.0.0.1:${port}/v1/thing?x=1`;
    const agent = brokeredAgent(connect, url);
    expect(JSON.parse(await get(agent, url))).toEqual({ path: '/v1/thing?x=1', method: 'GET' });
    expect(JSON.parse(await get(agent, url))).toMatchObject({ method: 'GET' });
    expect(opened).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`]);
  });

  it('fails the request when the broker refuses the connection', async () => {
    const agent = brokeredAgent(() => Promise.reject(new Error('denied by the broker')),
      `http://127.0.0.1:${port}/`);
    await expect(get(agent, `http://127.0.0.1:${port}/`)).rejects.toThrow('denied by the broker');
  });
});
