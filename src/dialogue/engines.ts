import { fileURLToPath } from 'node:url';
import { readSecret, type LoadedConfig } from '../config/load.js';
import type { VoiceActivityDetector } from '../endpoint/types.js';
import type { SpeechToText } from '../stt/types.js';
import type { TextToSpeech } from '../tts/types.js';
import type { WakeDetector } from '../wake/types.js';
import { GatewayError } from '../errors.js';
import { which } from '../isolation/host.js';
import type { Logger } from '../log.js';
import { loadIntents } from '../nlu/index.js';
import { createLlmUnderstanding, type LlmUnderstanding } from '../nlu/llm.js';
import type { IntentSet } from '../nlu/types.js';
import { createConnectors } from '../connectors/registry.js';
import { createSpeechToText } from '../stt/index.js';
import { createTextToSpeech } from '../tts/index.js';
import { createWakeDetector } from '../wake/index.js';
import { WAKE_PHRASE } from './listener.js';
import type { Engines } from './pipeline.js';

/** The intent templates shipped with the gateway. */
export const INTENTS_DIR = fileURLToPath(new URL('../../intents/en', import.meta.url));

async function createVad(loaded: LoadedConfig): Promise<VoiceActivityDetector> {
  if (loaded.config.endpoint.vad === 'energy') {
    const { EnergyVad } = await import('../endpoint/energy.js');
    return new EnergyVad();
  }
  const { SileroVad } = await import('../endpoint/silero.js');
  return SileroVad.create();
}

/**
 * Builds every stage the configuration names. Engines that are not configured
 * are never loaded; a missing model or program fails here, at start-up.
 */
export async function createEngines(
  loaded: LoadedConfig,
  log: Logger,
  opts: { wake?: boolean } = {},
): Promise<Engines> {
  const { config, baseDir } = loaded;
  if (config.tts.engine === 'espeak-ng' && !which('espeak-ng')) {
    throw new GatewayError('GW_ENGINE_MISSING',
      'espeak-ng is not installed: run ./scripts/setup.sh or apt-get install espeak-ng');
  }
  const intents = await loadIntents(INTENTS_DIR);
  const wakeEngine = opts.wake === false ? 'none' : config.wake.engine;
  const accessKey = wakeEngine === 'porcupine'
    ? readSecret('PICOVOICE_ACCESS_KEY', config.wake.porcupine_access_key_file, baseDir)
    : null;
  const openaiKey = (file: string): string | undefined =>
    readSecret('OPENAI_API_KEY', file, baseDir) ?? undefined;
  // Each factory runs inside an async function, so that one throwing at once (a missing
  // key) still lets the others settle and be closed.
  const settled = await Promise.allSettled([
    (async () => createWakeDetector({
      engine: wakeEngine,
      keyword: config.wake.keyword,
      threshold: config.wake.threshold,
      accessKey: accessKey ?? undefined,
    }))(),
    createVad(loaded),
    (async () => createSpeechToText(
      config.stt.engine === 'openai'
        ? {
          engine: 'openai',
          baseURL: config.stt.openai.base_url,
          model: config.stt.openai.model,
          apiKey: openaiKey(config.stt.openai.api_key_file),
          log,
        }
        : { engine: 'pocketsphinx', jsgf: intents.jsgf({ optionalPrefix: WAKE_PHRASE }), log },
    ))(),
    (async () => createTextToSpeech(
      config.tts.engine === 'openai'
        ? {
          engine: 'openai',
          baseURL: config.tts.openai.base_url,
          model: config.tts.openai.model,
          apiKey: openaiKey(config.tts.openai.api_key_file),
        }
        : { engine: 'espeak-ng', voice: config.tts.voice, speed: config.tts.speed },
      log,
    ))(),
  ]);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await closeStarted(settled);
    throw failed.reason;
  }
  const values = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value);
  const [wake, vad, stt, tts] = values as [
    WakeDetector | null, VoiceActivityDetector, SpeechToText, TextToSpeech];
  if (config.tts.engine === 'espeak-ng') await checkVoice(tts, config.tts.voice, settled);
  return { wake, vad, stt, tts, intents, llm: createLlm(loaded, intents, log) };
}

/** One word spoken at start-up, so that a voice espeak-ng lacks stops start-up, not a turn. */
async function checkVoice(
  tts: TextToSpeech,
  voice: string,
  started: PromiseSettledResult<unknown>[],
): Promise<void> {
  try {
    await tts.synthesize('ok');
  } catch (err) {
    await closeStarted(started);
    throw new GatewayError('GW_CONFIG_INVALID',
      `tts.voice "${voice}" is not a voice espeak-ng can speak (espeak-ng --voices lists them)`,
      { cause: err });
  }
}

/** The LLM fallback when enabled and keyed; otherwise undefined, with the reason logged. */
function createLlm(
  loaded: LoadedConfig,
  intents: IntentSet,
  log: Logger,
): LlmUnderstanding | undefined {
  const { config, baseDir } = loaded;
  const settings = config.nlu.llm;
  if (!settings.enabled) return undefined;
  const fallback = createLlmUnderstanding({
    apiKey: readSecret('OPENAI_API_KEY', settings.api_key_file, baseDir) ?? undefined,
    baseURL: settings.base_url,
    model: settings.model,
    connectors: createConnectors(config, baseDir),
    intents: intents.intents,
    log,
  });
  if (fallback.enabled) return fallback.understanding;
  log.warn({ reason: fallback.reason }, 'llm fallback off');
  return undefined;
}

/** Closes what did start (warm recogniser processes, model sessions) after a failure. */
async function closeStarted(settled: PromiseSettledResult<unknown>[]): Promise<void> {
  await Promise.allSettled(settled.map((r) => {
    const v = r.status === 'fulfilled' ? r.value as { close?: unknown } | null : null;
    return v && typeof v.close === 'function' ? (v.close as () => Promise<void>)() : undefined;
  }));
}

export async function closeEngines(engines: Engines): Promise<void> {
  await Promise.allSettled([engines.wake?.close(), engines.vad.close(), engines.stt.close()]);
}
