import { existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadPublicKey } from '../keys/keys.js';
import { TokenVerifier } from '../auth/tokens.js';
import { loadConfig } from '../config/load.js';
import { closeEngines, createEngines } from '../dialogue/engines.js';
import { GatewayError } from '../errors.js';
import { createLogger } from '../log.js';
import { PipelineFactory } from '../server/pipelines.js';
import { GatewayServer } from '../server/server.js';
import { StateStore } from '../state/store.js';
import { openAuditTrail } from '../audit/setup.js';
import type { AuditLog } from '../audit/log.js';
import { secretKeyPath } from '../keys/keys.js';
import { parseOrUsage } from './args.js';
import { securePaths } from './secure-paths.js';
import { startWarmPool } from '../isolation/critical.js';
import { closeAllPools } from '../isolation/vm/pool.js';

/**
 * `gateway serve`: the HTTP API, the WebSocket stream and the web page, until SIGINT or
 * SIGTERM. Prints one line, `gateway: listening on <url>`, once it accepts connections.
 */
export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseOrUsage({
    args: argv, strict: true, allowPositionals: false,
    options: {
      config: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string' },
      keys: { type: 'string' },
      state: { type: 'string' },
    },
  });
  const loaded = loadConfig(values.config);
  const { config, baseDir } = loaded;
  const port = values.port === undefined ? config.server.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new GatewayError('GW_USAGE', '--port expects 0..65535');
  }
  const host = values.host ?? config.server.host;
  const log = createLogger({ level: config.log_level, personalData: config.log_personal_data });
  const paths = securePaths(values.config, { keys: values.keys, state: values.state });
  const publicKey = loadPublicKey(paths.keysDir, 'token');
  const tls = readTls(config.server.tls_cert, config.server.tls_key, baseDir);
  const store = StateStore.open(paths.statePath);
  let audit: AuditLog | null = null;
  try {
    // Interrupted actions of a previous run are recorded as indeterminate, never re-run.
    if (existsSync(secretKeyPath(paths.keysDir, 'audit'))) {
      audit = (await openAuditTrail({ keysDir: paths.keysDir, auditPath: paths.auditPath,
        store, log })).audit;
    } else {
      log.warn({}, 'no audit signing key: dangerous and critical actions are refused');
    }
  } catch (err) {
    store.close();
    throw err;
  }
  const engines = await createEngines(loaded, log, { wake: false }).catch(async (err: unknown) => {
    await audit?.close();
    store.close();
    throw err;
  });
  const timeZone = config.dialogue.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  // VMs started ahead of time for critical actions ([microvm] warm_pool; none by default).
  await startWarmPool(config, log);
  const server = new GatewayServer({
    config, log, idempotency: store,
    factory: new PipelineFactory(loaded, engines, log, timeZone, audit),
    auth: new TokenVerifier({ publicKey, isRevoked: (jti) => store.isRevoked(jti) }),
    ...(tls ? { tls } : {}),
  });
  try {
    const addr = await server.listen(port, host);
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const url = `${tls ? 'https' : 'http'}://${shown}:${addr.port}`;
    process.stdout.write(`gateway: listening on ${url}\n`);
    log.info({ url, tls: tls !== null }, 'serving');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    log.info({}, 'shutting down');
  } finally {
    await server.close();
    await closeAllPools();
    await closeEngines(engines);
    await audit?.close();
    store.close();
  }
  return 0;
}

function readTls(cert: string, key: string, baseDir: string): { cert: Buffer; key: Buffer } | null {
  if (!cert || !key) return null;
  try {
    return {
      cert: readFileSync(path.resolve(baseDir, cert)),
      key: readFileSync(path.resolve(baseDir, key)),
    };
  } catch (err) {
    throw new GatewayError('GW_CONFIG_INVALID',
      `server.tls_cert / server.tls_key cannot be read: ${(err as Error).message}`);
  }
}
