import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ServeHarness } from '../support/gateway-serve.js';

/** A throw-away self-signed certificate for 127.0.0.1, made with Debian's openssl. */
const certDir = mkdtempSync(path.join(tmpdir(), 'gateway-tls-'));
const CERT = path.join(certDir, 'cert.pem');
const KEY = path.join(certDir, 'key.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
  '-nodes', '-keyout', KEY, '-out', CERT, '-days', '1', '-subj', '/CN=127.0.0.1',
  '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });

function get(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('gateway serve with a certificate: HTTPS and WSS', () => {
  const gw = new ServeHarness(`[server]\ntls_cert = "${CERT}"\ntls_key = "${KEY}"\n`);
  let url = '';
  beforeAll(async () => {
    url = await gw.start();
  }, 60_000);
  afterAll(async () => {
    await gw.dispose();
    rmSync(certDir, { recursive: true, force: true });
  });

  it('serves the API over HTTPS and the stream over WSS', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(CERT);
    expect(await get(`${url}/healthz`, ca)).toEqual({ status: 200, body: '{"status":"ok"}' });
    const ws = new WebSocket(`${url.replace(/^https/, 'wss')}/api/v1/stream`,
      ['gateway.v1', `bearer.${gw.token('tls')}`], { ca });
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'start', sample_rate: 16000 })));
      ws.on('message', (d) => resolve(JSON.parse(d.toString()) as Record<string, unknown>));
      ws.on('error', reject);
    });
    expect(ready).toMatchObject({ type: 'ready', principal: 'tls' });
    ws.close();
    // Plain HTTP on the TLS port is not served.
    await expect(fetch(url.replace(/^https/, 'http') + '/healthz')).rejects.toThrow();
  });
});
