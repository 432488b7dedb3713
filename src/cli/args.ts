import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GatewayError } from '../errors.js';

export interface CommonArgs {
  readonly config: string | undefined;
  readonly json: boolean;
  readonly out: string | undefined;
  readonly now: Date | undefined;
  readonly realtime: boolean;
  /** Every connector with a dry-run mode resolves and says what it would do, sends nothing. */
  readonly dryRun: boolean;
  readonly positionals: string[];
}

/** util.parseArgs with its errors turned into GW_USAGE. */
export function parseOrUsage<T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new GatewayError('GW_USAGE', (err as Error).message);
  }
}

/** Parses the options every turn-running command shares. */
export function parseCommon(argv: string[]): CommonArgs {
  const parsed = parseOrUsage({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      now: { type: 'string' },
      realtime: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  const { values, positionals } = parsed;
  let now: Date | undefined;
  if (values.now !== undefined) {
    now = new Date(values.now);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(values.now) || Number.isNaN(now.getTime())) {
      throw new GatewayError('GW_USAGE', `--now expects an ISO 8601 time, got ${values.now}`);
    }
  }
  return {
    config: values.config,
    json: values.json ?? false,
    out: values.out,
    now,
    realtime: values.realtime ?? false,
    dryRun: values['dry-run'] ?? false,
    positionals,
  };
}
