import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { createConnectors, sandboxPlans } from '../connectors/registry.js';
import { withDryRun } from '../connectors/dry-run.js';
import { checkTiersAtStartup } from '../isolation/tiers.js';
import { closeEngines, createEngines } from '../dialogue/engines.js';
import { Pipeline, type Engines } from '../dialogue/pipeline.js';
import { createLogger, type Logger } from '../log.js';
import type { CommonArgs } from './args.js';
import { openTrailIfKeyed } from './audit-trail.js';

export interface Session {
  readonly loaded: LoadedConfig;
  readonly pipeline: Pipeline;
  readonly engines: Engines;
  readonly log: Logger;
  close(): Promise<void>;
}

/** Loads configuration and engines and opens one conversation. */
export async function openSession(
  args: CommonArgs,
  opts: { wake?: boolean } = {},
): Promise<Session> {
  const loaded = loadConfig(args.config);
  const { baseDir } = loaded;
  const config = args.dryRun ? withDryRun(loaded.config) : loaded.config;
  const log = createLogger({ level: config.log_level, personalData: config.log_personal_data });
  const connectors = createConnectors(config, baseDir);
  await checkTiersAtStartup(config, connectors);
  const trail = await openTrailIfKeyed(config, baseDir, log);
  const engines = await createEngines(loaded, log, opts).catch(async (err: unknown) => {
    await trail.close();
    throw err;
  });
  const timeZone = config.dialogue.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  const fixedNow = args.now;
  const pipeline = new Pipeline({
    config,
    engines,
    connectors,
    log,
    outputDir: path.resolve(args.out ?? path.resolve(baseDir, config.tts.output_dir)),
    now: fixedNow ? () => fixedNow : undefined,
    timeZone,
    baseDir,
    sandboxPlan: sandboxPlans(config, baseDir),
    ...(trail.audit ? { audit: trail.audit } : {}),
  });
  let closed = false;
  return {
    loaded, pipeline, engines, log,
    async close() {
      if (closed) return;
      closed = true;
      await pipeline.close();
      await closeEngines(engines);
      await trail.close();
    },
  };
}
