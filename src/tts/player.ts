import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log.js';
import { DEFAULT_MAX_WAV_SECONDS, parseWavHeader } from '../audio/wav.js';
import { speechDurationMs, speechToWav } from './audio.js';
import { runProgram } from './process.js';
import type { SpeechAudio } from './types.js';

export type PlayerProgram = 'aplay' | 'play';

export interface PlayerOptions {
  /** `auto` (default) uses aplay when it is on PATH, else sox's play. */
  readonly program?: PlayerProgram | 'auto';
  /** ALSA device (`aplay -D`, or AUDIODEV for play); the system default when absent. */
  readonly device?: string;
  readonly log?: Logger;
}

export interface PlaybackResult {
  /** True when the signal stopped playback early (barge-in). */
  readonly interrupted: boolean;
}

/** Extra time beyond the audio's own length before playback is declared stuck. */
const PLAYBACK_SLACK_MS = 10_000;

async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Which player program `auto` resolves to here, or null when neither is installed. */
export async function findPlayer(
  env: NodeJS.ProcessEnv = process.env,
): Promise<PlayerProgram | null> {
  if (await onPath('aplay', env)) return 'aplay';
  if (await onPath('play', env)) return 'play';
  return null;
}

export interface PlayOptions extends PlayerOptions {
  /** Stops playback (barge-in); the result then says `interrupted: true`. */
  readonly signal?: AbortSignal;
}

async function resolveProgram(program: PlayerOptions['program']): Promise<PlayerProgram> {
  if (program && program !== 'auto') return program;
  const found = await findPlayer();
  if (found) return found;
  throw new GatewayError(
    'GW_ENGINE_MISSING',
    'no audio player: install aplay (Debian package alsa-utils) or play (package sox)',
  );
}

/** Pipes one WAV into the player program; `durationMs` sets the stuck-player deadline. */
async function playWav(
  wav: Buffer,
  durationMs: number,
  opts: PlayOptions,
): Promise<PlaybackResult> {
  const { device, log, signal } = opts;
  if (signal?.aborted) return { interrupted: true };
  const program = await resolveProgram(opts.program);
  const env = program === 'play' && device ? { ...process.env, AUDIODEV: device } : process.env;
  const args =
    program === 'aplay'
      ? [...(device ? ['-D', device] : []), '-q', '-t', 'wav', '-']
      : ['-q', '-t', 'wav', '-'];
  const { aborted } = await runProgram({
    command: program,
    args,
    env,
    input: wav,
    debianPackage: program === 'aplay' ? 'alsa-utils' : 'sox',
    timeoutMs: Math.ceil(durationMs) + PLAYBACK_SLACK_MS,
    maxOutputBytes: 64 * 1024,
    failureCode: 'GW_AUDIO_DEVICE',
    signal,
  });
  log?.debug({ program, audioMs: Math.round(durationMs), interrupted: aborted }, 'speech played');
  return { interrupted: aborted };
}

/**
 * Plays speech, or a WAV file given by path, on the speaker through aplay or sox's
 * play. Resolves `interrupted: true` when the signal stopped it; a missing player is
 * GW_ENGINE_MISSING, a player that fails (no sound card) GW_AUDIO_DEVICE.
 */
export async function playAudio(
  audio: SpeechAudio | string,
  opts: PlayOptions = {},
): Promise<PlaybackResult> {
  if (typeof audio !== 'string') {
    if (audio.samples.length === 0) return { interrupted: false };
    return playWav(speechToWav(audio), speechDurationMs(audio), opts);
  }
  let wav: Buffer;
  try {
    wav = await readFile(audio);
  } catch (err) {
    throw new GatewayError('GW_AUDIO_NOT_FOUND', `cannot read ${audio}`, { cause: err });
  }
  const h = parseWavHeader(wav, { maxSeconds: DEFAULT_MAX_WAV_SECONDS });
  return playWav(wav, (h.dataBytes * 1000) / (h.sampleRate * h.blockAlign), opts);
}

/** A player bound to one configuration, for callers that play many replies. */
export class SpeakerPlayer {
  constructor(private readonly options: PlayerOptions = {}) {}

  play(audio: SpeechAudio | string, signal?: AbortSignal): Promise<PlaybackResult> {
    return playAudio(audio, { ...this.options, signal });
  }
}
