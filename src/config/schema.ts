import { z } from 'zod';
import { plaidConfigSchema } from '../connectors/banking_plaid/config.js';
import { binanceConfigSchema } from '../connectors/binance/config.js';
import { calendarConfigSchema } from '../connectors/calendar/config.js';
import { messagingConfigSchema } from '../connectors/messaging/config.js';
import { ros2ConfigSchema } from '../connectors/ros2_dangerous_actions/config.js';
import { smartcarConfigSchema } from '../connectors/smart_car_fleet/config.js';
import { dnp3ConfigSchema } from '../connectors/scada_dnp3/config.js';
import { policySchema } from '../policy/schema.js';

/**
 * The shape of config/gateway.toml. Every key has a default, so an empty file is
 * a working offline configuration. Unknown keys are errors (strict objects).
 * The top-level keys of the original guide keep their names.
 */
const ms = (def: number, max: number, min = 0) =>
  z.number().int().min(min).max(max).default(def);

function isTimeZone(zone: string): boolean {
  if (zone === '') return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const wake = z.strictObject({
  /** `none` turns the wake word off (push-to-talk: every utterance is addressed). */
  engine: z.enum(['openwakeword', 'porcupine', 'none']).default('openwakeword'),
  keyword: z.string().min(1).default('hey_jarvis'),
  threshold: z.number().min(0).max(1).default(0.5),
  /** Picovoice AccessKey file; the environment variable PICOVOICE_ACCESS_KEY wins. */
  porcupine_access_key_file: z.string().default(''),
});

const endpoint = z.strictObject({
  vad: z.enum(['silero', 'energy']).default('silero'),
  threshold: z.number().min(0).max(1).default(0.5),
  trailing_silence_ms: ms(300, 5_000, 100),
  max_utterance_ms: ms(10_000, 60_000, 1_000),
  no_speech_timeout_ms: ms(4_000, 30_000, 500),
  min_speech_ms: ms(120, 2_000, 30),
});

const openaiEngine = z.strictObject({
  base_url: z.string().url().default('https://api.openai.com/v1'),
  model: z.string().min(1).optional(),
  /** API key file; the environment variable OPENAI_API_KEY wins. */
  api_key_file: z.string().default(''),
});

const llm = z.strictObject({
  /** Let an LLM propose an action when no template matches (never skips a confirmation). */
  enabled: z.boolean().default(false),
  base_url: z.string().url().default('https://api.openai.com/v1'),
  model: z.string().min(1).default('gpt-4o-mini'),
  /** API key file; the environment variable OPENAI_API_KEY wins. */
  api_key_file: z.string().default(''),
});

const stt = z.strictObject({
  engine: z.enum(['pocketsphinx', 'openai']).default('pocketsphinx'),
  /** A transcript below this confidence is not acted on. */
  min_confidence: z.number().min(0).max(1).default(0.5),
  openai: openaiEngine.default(openaiEngine.parse({})),
});

const tts = z.strictObject({
  engine: z.enum(['espeak-ng', 'openai']).default('espeak-ng'),
  voice: z.string().min(1).default('en-us'),
  speed: z.number().int().min(80).max(450).default(165),
  /** Where reply WAV files are written by `replay` and `say`. */
  output_dir: z.string().default('out/replies'),
  openai: openaiEngine.default(openaiEngine.parse({})),
});

/**
 * A second factor for critical actions, per connector: a spoken PIN after "confirm", the
 * approval of an authenticated phone session, or no critical actions by voice at all.
 */
const secondFactor = z.strictObject({
  connectors: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a connector name'),
    z.enum(['pin', 'phone', 'no_voice'])).default({}),
  /** File holding the PIN (4 to 8 digits); the environment variable GATEWAY_PIN wins. */
  pin_file: z.string().default(''),
  /** Wrong PINs in a row after which PIN actions are locked for lockout_ms. */
  max_pin_attempts: z.number().int().min(1).max(10).default(3),
  lockout_ms: ms(900_000, 86_400_000, 1_000),
});

const dialogue = z.strictObject({
  /** After the gateway asks a question, its answer needs no wake word within this window. */
  follow_up_window_ms: ms(8_000, 120_000),
  confirmation_phrase: z.string().min(1).default('confirm'),
  /** A confirmation not given within this window is cancelled. */
  confirmation_window_ms: ms(15_000, 300_000),
  /** False refuses every critical action asked for by voice (typed and API turns only). */
  voice_critical_actions: z.boolean().default(true),
  second_factor: secondFactor.default(secondFactor.parse({})),
  /** The principal of microphone and CLI turns. */
  local_principal: z.string().min(1).default('local'),
  /** IANA time zone for "today" and "tomorrow"; empty means the host's. */
  timezone: z.string().refine(isTimeZone, 'expected an IANA time zone such as Europe/London')
    .default(''),
});

const audio = z.strictObject({
  /** Longest WAV file `replay` accepts; longer files are refused before decoding. */
  max_file_seconds: z.number().positive().max(3_600).default(120),
  recorder: z.enum(['sox', 'rec', 'arecord']).default('sox'),
  device: z.string().default(''),
});

/** `gateway serve`: listening address, TLS, and the limits applied per principal. */
const serverLimits = z.strictObject({
  /** HTTP requests (orchestrate, confirm) per principal per minute; more get 429. */
  requests_per_minute: z.number().int().min(1).max(100_000).default(60),
  /** Open WebSocket streams per principal. */
  concurrent_streams: z.number().int().min(1).max(1_000).default(4),
  /** Largest request body; larger ones get 400 (GW_HTTP_BODY_TOO_LARGE). */
  max_body_bytes: z.number().int().min(256).max(1_048_576).default(16_384),
  /** Largest single WebSocket message (binary audio or JSON). */
  max_frame_bytes: z.number().int().min(1_024).max(1_048_576).default(65_536),
  /** A stream is closed after this long, whatever it is doing. */
  max_stream_seconds: z.number().int().min(1).max(86_400).default(900),
  /** Audio received but not yet consumed; beyond it the server pauses reading the socket. */
  max_buffered_ms: ms(2_000, 60_000, 100),
});

const server = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(4000),
  /** PEM certificate and key: both set serves HTTPS and WSS; both empty serves plain HTTP. */
  tls_cert: z.string().default(''),
  tls_key: z.string().default(''),
  limits: serverLimits.default(serverLimits.parse({})),
}).refine((s) => (s.tls_cert === '') === (s.tls_key === ''), {
  message: 'tls_cert and tls_key must be set together', path: ['tls_cert'],
});

const calendar = calendarConfigSchema;

/**
 * A point that speech names ("breaker 7 at substation 12", "pump 1"), mapped to a device.
 * Every key is required: a guessed default could reach the wrong device.
 * A DNP3 point is a CROB: `address` is the outstation address, `index` the CROB and its
 * binary input.
 */
const dnp3Point = z.strictObject({
  protocol: z.literal('dnp3'),
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65_535),
  address: z.number().int().min(0).max(65_519),
  index: z.number().int().min(0).max(65_535),
  kind: z.literal('crob'),
});

/**
 * A Modbus point (connector scada_modbus_write): a coil or a holding register of one unit.
 * `address` is the zero-based coil or register number as sent on the wire. A coil is on for
 * "close" and off for "open"; a holding register needs the values it takes for each.
 */
const modbusPoint = z.strictObject({
  protocol: z.literal('modbus'),
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65_535),
  unit_id: z.number().int().min(0).max(255),
  kind: z.enum(['coil', 'holding_register']),
  address: z.number().int().min(0).max(65_535),
  close_value: z.number().int().min(0).max(65_535).optional(),
  open_value: z.number().int().min(0).max(65_535).optional(),
}).superRefine((p, ctx) => {
  const both = p.close_value !== undefined && p.open_value !== undefined;
  if (p.kind === 'holding_register' && !both) {
    ctx.addIssue({ code: 'custom', path: ['close_value'],
      message: 'a holding register point needs close_value and open_value' });
  }
  if (p.kind === 'holding_register' && both && p.close_value === p.open_value) {
    ctx.addIssue({ code: 'custom', path: ['open_value'],
      message: 'open_value must differ from close_value' });
  }
  if (p.kind === 'coil' && (p.close_value !== undefined || p.open_value !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['close_value'],
      message: 'a coil is on when closed and off when open: it takes no values' });
  }
});

const point = z.discriminatedUnion('protocol', [dnp3Point, modbusPoint]);

/** Point names: lower-case words and numbers with single spaces, as pointKey() builds them. */
const pointName = z.string().regex(/^[a-z0-9]+( [a-z0-9]+)*$/,
  'expected lower-case words and digits separated by single spaces, e.g. "pump 1"');

/** The critical tier's microVMs (src/isolation/vm). */
const microvm = z.strictObject({
  /** The image to boot: a folder with manifest.json and manifest.sig. */
  image_dir: z.string().min(1).default('build/rootfs'),
  /** The read-only store images are installed into, verified file by file ("" = none). */
  store_dir: z.string().default(''),
  /** Where image updates come from: a file:// or https:// URL of an image folder ("" = none). */
  update_source: z.string().default(''),
  /** PEM CA bundle trusted for an https:// update_source, besides the system's ("" = none). */
  update_ca_file: z.string().default(''),
  /** The VMM: "auto" picks by what the host can do; overrides `vmm` when not "auto". */
  backend: z.enum(['auto', 'qemu', 'firecracker']).default('auto'),
  /** Guest kernel: the Debian cloud kernel with its virtio modules, or a small built one. */
  kernel: z.enum(['cloud', 'small']).default('cloud'),
  memory_mib: z.number().int().min(64).max(4096).default(256),
  /** From the VMM's start to the agent's ready; software emulation on a busy host is slow. */
  boot_deadline_ms: z.number().int().min(1_000).max(600_000).default(120_000),
  /**
   * From the action's delivery into the VM to its result. Longer than an in-process action's:
   * under emulation an SDK alone takes seconds to load. Past it the VM is killed and the
   * action is indeterminate, never sent again.
   */
  action_deadline_ms: z.number().int().min(1_000).max(600_000).default(30_000),
  /** Start critical actions by restoring a signed snapshot of the booted image. */
  snapshots: z.boolean().default(true),
  snapshot_dir: z.string().min(1).default('state/snapshots'),
  /** VMs kept started and waiting, so that a critical action never waits for a boot. */
  warm_pool: z.number().int().min(0).max(16).default(0),
});

export const configSchema = z.strictObject({
  security_mode: z.enum(['standard', 'paranoid']).default('standard'),
  enable_firecracker_sandbox: z.boolean().default(false),
  firecracker_socket_path: z.string().default('/tmp/firecracker.socket'),
  critical_connectors: z.array(z.string().min(1)).default([]),
  vmm: z.enum(['auto', 'firecracker', 'qemu']).default('auto'),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Transcripts and reply text are personal data: logged only when this is true. */
  log_personal_data: z.boolean().default(false),
  /** Key directory (one Ed25519 pair per purpose); state database; signed audit log. */
  keys_dir: z.string().min(1).default('keys'),
  state_path: z.string().min(1).default('state/gateway.db'),
  audit_path: z.string().min(1).default('logs/audit.jsonl'),
  audio: audio.default(audio.parse({})),
  wake: wake.default(wake.parse({})),
  endpoint: endpoint.default(endpoint.parse({})),
  stt: stt.default(stt.parse({})),
  tts: tts.default(tts.parse({})),
  dialogue: dialogue.default(dialogue.parse({})),
  nlu: z.strictObject({ llm: llm.default(llm.parse({})) }).default({ llm: llm.parse({}) }),
  connectors: z
    .strictObject({
      calendar: calendar.default(calendar.parse({})),
      messaging: messagingConfigSchema.default(messagingConfigSchema.parse({})),
      scada_dnp3: dnp3ConfigSchema.default(dnp3ConfigSchema.parse({})),
      binance: binanceConfigSchema.default(binanceConfigSchema.parse({})),
      banking_plaid: plaidConfigSchema.default(plaidConfigSchema.parse({})),
      smart_car_fleet: smartcarConfigSchema.default(smartcarConfigSchema.parse({})),
      ros2_dangerous_actions: ros2ConfigSchema.default(ros2ConfigSchema.parse({})),
    })
    .default({
      calendar: calendar.parse({}), messaging: messagingConfigSchema.parse({}),
      scada_dnp3: dnp3ConfigSchema.parse({}),
      binance: binanceConfigSchema.parse({}),
      banking_plaid: plaidConfigSchema.parse({}),
      smart_car_fleet: smartcarConfigSchema.parse({}),
      ros2_dangerous_actions: ros2ConfigSchema.parse({}),
    }),
  /** Spoken point names mapped to devices; empty means no point can be operated. */
  points: z.record(pointName, point).default({}),
  /** Who may do what (src/policy); by default the local principal may do everything. */
  policy: policySchema.default(policySchema.parse({})),
  server: server.default(server.parse({})),
  microvm: microvm.default(microvm.parse({})),
});

export type GatewayConfig = z.infer<typeof configSchema>;
