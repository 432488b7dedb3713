import { GatewayError, asGatewayError } from '../errors.js';
import { oneLine } from './output.js';

const USAGE = `usage: gateway <command> [options]

commands:
  replay <wav>...     run recorded audio through the whole turn; several files are one conversation
  say "<text>"...     run text turns (no wake word, no speech-to-text); several are one conversation
  listen              listen on the microphone until Ctrl-C
  doctor              report what this host can provide (engines, models, isolation layers)
  serve               HTTP API, WebSocket stream and web page (server.host:server.port)
  intents test [f]... run sentence test files against the intents (default intents/en/tests)
  keys                create the key directory: one Ed25519 pair each for token, audit, image
  rootfs build|sign|verify  the critical tier's microVM image: build, sign, check
  token issue|revoke|verify|list   bearer tokens for the API (written to .desktop_jwt)
  audit verify|head   check the signed audit trail; print its head to keep elsewhere

options:
  -c, --config FILE   configuration file (default: config/gateway.toml when present)
  --json              print one JSON object per input (JSON Lines)
  --out DIR           where reply WAVs are written (default: tts.output_dir)
  --now TIME          the clock connectors see, ISO 8601 (default: now)
  --realtime          feed recordings at real-time speed (replay)
  --dry-run           connectors resolve everything and say what they would do; nothing is sent
`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  replay: async () => (await import('./turns.js')).replayCommand,
  say: async () => (await import('./turns.js')).sayCommand,
  listen: async () => (await import('./listen.js')).listenCommand,
  doctor: async () => (await import('./doctor.js')).doctorCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
  intents: async () => (await import('./intents.js')).intentsCommand,
  keys: async () => (await import('./keys.js')).keysCommand,
  rootfs: async () => (await import('./rootfs.js')).rootfsCommand,
  token: async () => (await import('./token.js')).tokenCommand,
  audit: async () => (await import('./audit.js')).auditCommand,
};

/** Entry point: returns the exit status; never throws for expected failures. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h' || rest.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!name) {
    process.stderr.write(USAGE);
    return 64;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(USAGE);
    return reportFailure(new GatewayError('GW_USAGE', `unknown command "${name}"`));
  }
  try {
    return await (await load())(rest);
  } catch (err) {
    return reportFailure(err);
  }
}

/** One clear line with the stable code, no stack trace. */
export function reportFailure(err: unknown): number {
  const e = err instanceof GatewayError ? err : asGatewayError(err, 'GW_ENGINE_FAILED');
  process.stderr.write(`gateway: ${e.code}: ${oneLine(e.message)}\n`);
  return e.exit;
}
