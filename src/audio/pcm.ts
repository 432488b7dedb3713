/** Inside the gateway all audio is 16 kHz, mono, signed 16-bit. */
export const SAMPLE_RATE = 16_000;

export function samplesToMs(samples: number): number {
  return (samples * 1000) / SAMPLE_RATE;
}

export function msToSamples(ms: number): number {
  return Math.round((ms * SAMPLE_RATE) / 1000);
}
