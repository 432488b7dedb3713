import type { VoiceActivityDetector } from './types.js';

export type VadEngine = 'silero' | 'energy';

/** Builds the configured VAD; Silero's ONNX runtime is loaded only when it is chosen. */
export async function createVad(engine: VadEngine): Promise<VoiceActivityDetector> {
  if (engine === 'energy') {
    const { EnergyVad } = await import('./energy.js');
    return new EnergyVad();
  }
  const { SileroVad } = await import('./silero.js');
  return SileroVad.create();
}

export { Endpointer, DEFAULT_ENDPOINTER_OPTIONS, type EndpointerState } from './endpointer.js';
export type { EndpointEvent, EndpointerOptions, VoiceActivityDetector } from './types.js';
