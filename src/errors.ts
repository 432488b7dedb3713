/**
 * Every error the gateway raises on purpose has a stable code from this table.
 * Tests assert codes, never message text. `docs/errors.md` lists the same codes,
 * and a unit test keeps the two in step.
 *
 * `exit` is the process exit status the CLI uses; `http` is the status the
 * service maps the error to; `retryable` says whether trying the same thing
 * again may succeed (a timeout may; a refusal never does).
 */
export interface ErrorSpec {
  readonly exit: number;
  readonly http: number;
  readonly retryable: boolean;
  readonly summary: string;
}

const spec = (exit: number, http: number, retryable: boolean, summary: string): ErrorSpec => ({
  exit,
  http,
  retryable,
  summary,
});

export const ERROR_CODES = {
  // configuration
  GW_CONFIG_NOT_FOUND: spec(78, 500, false, 'the configuration file does not exist'),
  GW_CONFIG_PARSE: spec(78, 500, false, 'the configuration file is not valid TOML'),
  GW_CONFIG_INVALID: spec(78, 500, false, 'a configuration key is unknown or has the wrong type'),
  GW_SECRET_UNREADABLE: spec(78, 500, false,
    'a secret file named in the configuration cannot be read'),
  // audio in
  GW_AUDIO_NOT_FOUND: spec(66, 400, false, 'the audio file does not exist'),
  GW_AUDIO_NOT_FILE: spec(66, 400, false,
    'the audio path names a directory, device or pipe, not a regular file'),
  GW_AUDIO_EMPTY: spec(65, 400, false, 'the audio file is empty'),
  GW_AUDIO_NOT_WAV: spec(65, 400, false, 'the file is not a RIFF/WAVE file'),
  GW_AUDIO_TRUNCATED: spec(65, 400, false, 'the WAV file ends before its chunks say it should'),
  GW_AUDIO_UNSUPPORTED: spec(65, 400, false,
    'the WAV encoding is not PCM (or IEEE float) at 8, 16, 24 or 32 bits'),
  GW_AUDIO_TOO_LONG: spec(65, 413, false, 'the audio is longer than the configured maximum'),
  GW_AUDIO_DEVICE: spec(69, 503, true, 'the recording program failed or is missing'),
  // engines
  GW_ENGINE_MISSING: spec(69, 503, false, 'a program or package an engine needs is not installed'),
  GW_MODEL_MISSING: spec(69, 503, false, 'a model file an engine needs is missing'),
  GW_ENGINE_FAILED: spec(70, 502, true, 'an engine process failed while working'),
  GW_ENGINE_TIMEOUT: spec(70, 504, true, 'an engine took longer than its deadline'),
  GW_WAKE_KEY_MISSING: spec(78, 500, false, 'the Porcupine engine needs a Picovoice AccessKey'),
  GW_WAKE_KEY_REJECTED: spec(78, 500, false, 'Porcupine rejected the configured AccessKey'),
  GW_CLOUD_KEY_MISSING: spec(78, 500, false, 'a cloud engine is configured without its API key'),
  GW_CLOUD_FAILED: spec(69, 502, true, 'a cloud engine answered with an error'),
  // understanding
  GW_INTENTS_INVALID: spec(65, 500, false, 'an intent template file is malformed'),
  // connectors and tiers
  GW_CONNECTOR_FAILED: spec(70, 502, true, 'the connector could not complete the action'),
  GW_CONNECTOR_CONFIG: spec(78, 500, false,
    'a file or setting the connector needs is missing or unusable'),
  GW_TIER_UNAVAILABLE: spec(69, 503, false, 'the isolation tier the action needs is not available'),
  GW_CONNECTOR_UNAVAILABLE: spec(69, 503, false, 'the connector is declared but not installed'),
  GW_ACTION_INPUT_INVALID: spec(65, 422, false, 'the action input does not match its schema'),
  GW_ACTION_TIMEOUT: spec(70, 504, false, 'the action passed its deadline; its outcome is unknown'),
  GW_ACTION_OUTPUT_INVALID: spec(70, 502, false,
    'the connector returned a result that does not match its output schema'),
  // dangerous-tier sandbox (src/isolation/sandbox)
  GW_SANDBOX_FAILED: spec(69, 503, true,
    'the sandbox could not be built or its worker not started'),
  GW_SANDBOX_VIOLATION: spec(77, 403, false,
    'the sandboxed connector attempted something its sandbox forbids; the message names the layer'),
  GW_SANDBOX_CRASHED: spec(70, 502, false,
    'the sandboxed worker died after it received the request; the outcome may be unknown'),
  // critical-tier microVMs (src/isolation/vm)
  GW_IMAGE_MISSING: spec(69, 503, false,
    'no built and signed microVM image: run `gateway rootfs build` and `gateway rootfs sign`'),
  GW_IMAGE_INVALID: spec(77, 503, false,
    'the microVM image failed verification (signature or a file hash); nothing was booted'),
  GW_IMAGE_BUILD: spec(70, 500, false, 'building the microVM image failed'),
  GW_IMAGE_STORE_UNSAFE: spec(77, 503, false,
    'the image store or image folder can be written by the gateway\'s user; nothing was booted'),
  GW_IMAGE_UPDATE_SOURCE: spec(69, 503, true,
    'the image update source is not set, not supported, or could not be read'),
  GW_IMAGE_UPDATE_FAILED: spec(70, 500, false,
    'the updated image failed its boot health check; the previous image was switched back'),
  GW_VMM_UNAVAILABLE: spec(69, 503, false,
    'the configured microVM backend cannot run on this host (no fallback to another one)'),
  GW_VM_FAILED: spec(69, 503, true,
    'the microVM could not be started or its agent never became ready'),
  GW_VM_CRASHED: spec(70, 502, false,
    'the microVM died or broke its protocol after it received the request; the outcome is unknown'),
  GW_SNAPSHOT_INVALID: spec(77, 503, false,
    'the microVM snapshot failed verification (signature, file hash or parameters); not loaded'),
  // policy (src/policy): the refusal names its rule
  GW_POLICY_REFUSED: spec(77, 403, false, 'the principal\'s policy refuses the action'),
  // remote services that connectors call
  GW_REMOTE_AUTH: spec(77, 502, false,
    'the remote service rejected the connector\'s credentials'),
  GW_REMOTE_REJECTED: spec(65, 502, false, 'the remote service refused the request as invalid'),
  GW_REMOTE_RATE_LIMITED: spec(75, 503, true, 'the remote service asks the connector to slow down'),
  GW_REMOTE_UNAVAILABLE: spec(69, 502, true,
    'the remote service failed, answered nonsense or could not be reached'),
  GW_CONTACT_UNKNOWN: spec(65, 422, false, 'the contact is not in the connector\'s directory'),
  GW_READBACK_MISMATCH: spec(70, 502, false,
    'the device acknowledged a write but reads back another value; check the point by hand'),
  // keys, tokens, state and audit trail (src/keys, src/auth, src/state, src/audit)
  GW_KEY_MISSING: spec(78, 500, false, 'a key file is missing: run `gateway keys`'),
  GW_KEY_INSECURE: spec(78, 500, false,
    'a secret key file or the key directory is open to group or others'),
  GW_KEY_INVALID: spec(78, 500, false, 'a key file is malformed or its halves do not match'),
  GW_KEY_EXISTS: spec(73, 409, false, 'keys already exist and --force was not given'),
  GW_TOKEN_MISSING: spec(77, 401, false, 'no bearer token was presented'),
  GW_TOKEN_MALFORMED: spec(77, 401, false, 'the token is not a well-formed compact JWS'),
  GW_TOKEN_ALG: spec(77, 401, false, 'the token is not signed with EdDSA'),
  GW_TOKEN_SIGNATURE: spec(77, 401, false,
    'the token signature does not verify with the gateway key'),
  GW_TOKEN_EXPIRED: spec(77, 401, false, 'the token has expired'),
  GW_TOKEN_NOT_YET_VALID: spec(77, 401, false, 'the token is not valid yet'),
  GW_TOKEN_AUDIENCE: spec(77, 401, false, 'the token is meant for another audience'),
  GW_TOKEN_REVOKED: spec(77, 401, false, 'the token has been revoked'),
  GW_STATE_FAILED: spec(74, 500, false, 'the state database cannot be opened or written'),
  GW_AUDIT_WRITE_FAILED: spec(74, 503, false,
    'an audit record could not be written and synced; the action does not run'),
  GW_AUDIT_UNAVAILABLE: spec(78, 503, false,
    'no audit trail is set up (no audit signing key), so world-changing actions are refused'),
  GW_AUDIT_TAMPERED: spec(65, 500, false, 'audit verification found a bad record'),
  // gateway serve: HTTP API and WebSocket stream (src/server)
  GW_HTTP_INVALID_JSON: spec(65, 400, false, 'the request body is not one JSON object'),
  GW_HTTP_BODY_TOO_LARGE: spec(65, 400, false, 'the request body is larger than allowed'),
  GW_HTTP_UNKNOWN_FIELD: spec(65, 400, false,
    'the request body has a field the API does not know'),
  GW_HTTP_INVALID_REQUEST: spec(65, 400, false,
    'a required field is missing or has the wrong type, or a header is malformed'),
  GW_HTTP_NOT_FOUND: spec(66, 404, false, 'no such path or method in the API'),
  GW_RATE_LIMITED: spec(75, 429, true, 'the principal sent more requests per minute than allowed'),
  GW_STREAMS_LIMITED: spec(75, 429, true, 'the principal has as many open streams as allowed'),
  GW_TIER_NOT_GRANTED: spec(77, 403, false, 'the token does not grant the tier the action needs'),
  GW_CONFIRMATION_UNKNOWN: spec(66, 404, false,
    'no pending confirmation with that id for this principal (used, replaced or never issued)'),
  GW_CONFIRMATION_EXPIRED: spec(65, 410, false, 'the confirmation window has passed'),
  GW_IDEMPOTENCY_MISMATCH: spec(65, 409, false,
    'the idempotency key was used before with a different request'),
  GW_IDEMPOTENCY_IN_PROGRESS: spec(75, 409, false,
    'a request with this idempotency key started and has no recorded result; it is not re-run'),
  GW_STREAM_PROTOCOL: spec(65, 400, false, 'a stream message is malformed or out of order'),
  GW_STREAM_LIMIT: spec(65, 400, false,
    'a stream exceeded its frame size, buffered audio or session length'),
  // usage
  GW_USAGE: spec(64, 400, false, 'the command line is not understood'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly exit: number;
  readonly http: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    const s = ERROR_CODES[code];
    this.retryable = s.retryable;
    this.exit = s.exit;
    this.http = s.http;
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}

/** Wraps anything thrown into a GatewayError, keeping ones that already are. */
export function asGatewayError(
  err: unknown,
  fallback: ErrorCode = 'GW_ENGINE_FAILED',
): GatewayError {
  if (err instanceof GatewayError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new GatewayError(fallback, message, { cause: err });
}
