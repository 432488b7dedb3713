import { pino, type Logger, type DestinationStream } from 'pino';

/**
 * The one place for logging policy.
 *
 * Messages are fixed strings; facts go in fields. Personal data and secrets
 * live only under the keys in PERSONAL_KEYS and SECRET_KEYS. Secrets are always
 * censored. Personal data (transcripts, reply text, message bodies) is censored
 * unless `log_personal_data = true` in the configuration.
 */
export const SECRET_KEYS = [
  'token', 'apiKey', 'accessKey', 'secret', 'password', 'pin', 'authorization',
];
export const PERSONAL_KEYS = ['transcript', 'text', 'reply', 'body', 'events', 'utterance'];

export type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LogOptions {
  level?: Level;
  personalData?: boolean;
  destination?: DestinationStream;
}

function paths(keys: readonly string[]): string[] {
  return keys.flatMap((k) => [k, `*.${k}`]);
}

export function createLogger(options: LogOptions = {}): Logger {
  const censored = options.personalData ? SECRET_KEYS : [...SECRET_KEYS, ...PERSONAL_KEYS];
  const config = {
    level: options.level ?? 'info',
    base: { service: 'gateway' },
    redact: { paths: paths(censored), censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // Logs go to stderr so that stdout stays free for --json output.
  return pino(config, options.destination ?? pino.destination({ fd: 2, sync: true }));
}

/** Level chosen by outcome, so that callers do not pick levels ad hoc. */
export function levelFor(
  outcome: 'ok' | 'refused' | 'not_understood' | 'failed' | 'crashed' | 'frame',
): Exclude<Level, 'silent'> {
  switch (outcome) {
    case 'ok':
    case 'not_understood':
      return 'info';
    case 'refused':
      return 'warn';
    case 'failed':
    case 'crashed':
      return 'error';
    case 'frame':
      return 'debug';
  }
}

export type { Logger };
