import { afterEach, describe, expect, test, vi } from 'vitest';
import { createWakeDetector } from '../../src/wake/index.js';
import { PorcupineDetector } from '../../src/wake/porcupine.js';

// No valid Picovoice AccessKey exists on the build machine, so these tests drive the real
// library down its two failure paths. The bad key is malformed on purpose: the library
// rejects it while parsing, before any attempt to reach Picovoice's activation service.
const MALFORMED_KEY = 'not-a-picovoice-key';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('Porcupine wake detector', () => {
  test('reports GW_WAKE_KEY_MISSING, naming the setting, without an AccessKey', async () => {
    vi.stubEnv('PICOVOICE_ACCESS_KEY', '');
    const err = await PorcupineDetector.create({ keyword: 'jarvis' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'GW_WAKE_KEY_MISSING' });
    expect(err.message).toContain('wake.porcupine_access_key_file');
    expect(err.message).toContain('PICOVOICE_ACCESS_KEY');
    expect(err.message).not.toContain('\n');
  });

  test('names only settings that exist when the AccessKey is missing or rejected', async () => {
    // Guards against pointing users at wake.porcupine_access_key, which the schema lacks.
    vi.stubEnv('PICOVOICE_ACCESS_KEY', '');
    const missing = await PorcupineDetector.create({ keyword: 'jarvis' }).catch((e) => e);
    const rejected = await PorcupineDetector.create({ accessKey: MALFORMED_KEY })
      .catch((e) => e);
    for (const err of [missing, rejected]) {
      const named = String(err.message).match(/wake\.[a-z_]+/g) ?? [];
      expect(named).toEqual(['wake.porcupine_access_key_file']);
    }
  });

  test('reports GW_WAKE_KEY_REJECTED in one line that does not repeat the key', async () => {
    const err = await PorcupineDetector.create({ accessKey: MALFORMED_KEY }).catch((e) => e);
    expect(err).toMatchObject({ code: 'GW_WAKE_KEY_REJECTED', retryable: false });
    expect(err.message).not.toContain('\n');
    expect(err.message).not.toContain(MALFORMED_KEY);
  });

  test('takes the AccessKey from PICOVOICE_ACCESS_KEY when none is passed', async () => {
    vi.stubEnv('PICOVOICE_ACCESS_KEY', MALFORMED_KEY);
    const err = await PorcupineDetector.create({ keyword: 'computer' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'GW_WAKE_KEY_REJECTED' });
  });

  test('reports GW_MODEL_MISSING, listing the built-in keywords, for unknown ones', async () => {
    const err = await PorcupineDetector.create({ accessKey: MALFORMED_KEY, keyword: 'toaster' })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'GW_MODEL_MISSING' });
    expect(err.message).toContain('jarvis');
  });

  test('createWakeDetector passes the key problem through for engine porcupine', async () => {
    vi.stubEnv('PICOVOICE_ACCESS_KEY', '');
    const options = { engine: 'porcupine', keyword: 'hey_jarvis', threshold: 0.5 } as const;
    await expect(createWakeDetector(options)).rejects.toMatchObject({
      code: 'GW_WAKE_KEY_MISSING',
    });
    await expect(createWakeDetector({ ...options, accessKey: MALFORMED_KEY })).rejects
      .toMatchObject({ code: 'GW_WAKE_KEY_REJECTED' });
  });
});
