#!/usr/bin/env node
// `npm run bench`: per-stage latency over the shipped fixtures, fed at real-time
// speed through the real offline engines, and the real-time factor of the wake
// word and speech-to-text stages. Prints a table; writes bench-results/bench.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const { validateConfig } = await import('../dist/config/load.js');
const { createEngines, closeEngines } = await import('../dist/dialogue/engines.js');
const { Pipeline } = await import('../dist/dialogue/pipeline.js');
const { createConnectors } = await import('../dist/connectors/registry.js');
const { readWavFile } = await import('../dist/audio/wav.js');
const { createLogger } = await import('../dist/log.js');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const NOW = new Date('2026-12-07T08:00:00Z');
const config = validateConfig({ dialogue: { timezone: 'Europe/London' } }, '(bench defaults)');
const loaded = { config, file: null, baseDir: root };
const manifest = JSON.parse(readFileSync('fixtures/manifest.json', 'utf8'));
const log = createLogger({ level: 'silent' });
const engines = await createEngines(loaded, log);
const connectors = createConnectors(config, root);

const pipeline = () => new Pipeline({
  config, engines, connectors, log, outputDir: null, now: () => NOW, timeZone: 'Europe/London',
});

const stages = {};
const record = (timings) => {
  for (const [k, v] of Object.entries(timings)) (stages[k] ??= []).push(v);
};

const audio = new Map();
for (const f of manifest) audio.set(f.file, (await readWavFile(path.join('fixtures/utterances', f.file))).samples);

const commands = manifest.filter((f) => f.wake && f.expect?.intent);
const confirms = manifest.filter((f) => !f.wake && f.expect?.intent === 'system.confirm');
const breaker = commands.find((f) => f.expect.intent === 'scada.breaker_operate');
let turns = 0;
let correct = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const f of commands) {
    const r = await pipeline().runAudio(audio.get(f.file), f.file, true);
    record(r.timings);
    turns += 1;
    if (r.intent?.name === f.expect.intent) correct += 1;
  }
  for (const f of confirms) {
    const p = pipeline();
    await p.runAudio(audio.get(breaker.file), breaker.file, true);
    const r = await p.runAudio(audio.get(f.file), f.file, true);
    record(r.timings);
    turns += 1;
    if (r.intent?.name === f.expect.intent) correct += 1;
  }
}

// Real-time factors: compute time over audio time, each stage alone on whole files.
// The wake word is measured as configured (silence gate on) and with every step run.
const { OpenWakeWordDetector } = await import('../dist/wake/openwakeword.js');
const ungated = await OpenWakeWordDetector.create({ silenceGateDbfs: null });
let ungatedMs = 0;
let wakeMs = 0;
let sttMs = 0;
let audioMs = 0;
for (const f of manifest) {
  const samples = audio.get(f.file);
  audioMs += (samples.length * 1000) / 16_000;
  if (engines.wake) {
    engines.wake.reset();
    const t0 = performance.now();
    for (let i = 0; i < samples.length; i += 1280) await engines.wake.process(samples.subarray(i, i + 1280));
    wakeMs += performance.now() - t0;
    ungated.reset();
    const t2 = performance.now();
    for (let i = 0; i < samples.length; i += 1280) await ungated.process(samples.subarray(i, i + 1280));
    ungatedMs += performance.now() - t2;
  }
  const t1 = performance.now();
  await engines.stt.transcribe(samples);
  sttMs += performance.now() - t1;
}
await closeEngines(engines);
await ungated.close();

// Understanding: grammar compile time, and matching throughput over the hand-written
// test sentences with every intent loaded.
const { loadIntents } = await import('../dist/nlu/index.js');
const { testFilesIn, loadTestFile } = await import('../dist/nlu/testing.js');
const c0 = performance.now();
const intentSet = await loadIntents('intents/en');
const loadMs = performance.now() - c0;
const g0 = performance.now();
const grammar = intentSet.jsgf({ optionalPrefix: 'hey jarvis' });
const jsgfMs = performance.now() - g0;
const sentences = [];
for (const f of await testFilesIn('intents/en/tests')) {
  for (const c of await loadTestFile(f, intentSet)) sentences.push(c.sentence);
}
const matchTimes = [];
const m0 = performance.now();
for (let round = 0; round < 20; round++) {
  for (const text of sentences) {
    const t = performance.now();
    intentSet.match(text);
    matchTimes.push(performance.now() - t);
  }
}
const matchWall = performance.now() - m0;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const summary = Object.fromEntries(Object.entries(stages).map(([k, xs]) => [k, {
  n: xs.length, p50: +pct(xs, 50).toFixed(1), p95: +pct(xs, 95).toFixed(1),
}]));
const rtf = {
  wake: +(wakeMs / audioMs).toFixed(4),
  wake_every_step: +(ungatedMs / audioMs).toFixed(4),
  stt: +(sttMs / audioMs).toFixed(4),
  audio_seconds: +(audioMs / 1000).toFixed(1),
};
const targets = [
  ['end_of_speech_to_reply', 'speaker stops -> reply audio (p50)', summary.end_of_speech_to_reply?.p50, 400],
  ['end_of_utterance_to_reply', 'end of utterance -> reply ready (p50)', summary.end_of_utterance_to_reply?.p50, 250],
  ['wake_rtf', 'wake word real-time factor', rtf.wake, 0.02],
];

const order = ['wake', 'endpoint', 'trailing_silence', 'stt', 'nlu', 'action', 'tts',
  'end_of_utterance_to_reply', 'end_of_speech_to_reply'];
console.log(`turns: ${turns} (${correct} with the expected intent), fed at real-time speed\n`);
console.log('stage (ms)                      n     p50     p95');
for (const k of order) {
  const s = summary[k];
  if (s) console.log(`${k.padEnd(30)} ${String(s.n).padStart(3)} ${String(s.p50).padStart(7)} ${String(s.p95).padStart(7)}`);
}
console.log(`\nreal-time factor over ${rtf.audio_seconds} s of audio (compute / audio time):`);
console.log(`  wake word ${rtf.wake} (silence gate on; ${rtf.wake_every_step} with every step run)`);
console.log(`  speech-to-text ${rtf.stt} (whole utterances, grammar and phone-loop decoders)\n`);
console.log(`understanding: ${sentences.length} test sentences x 20, ` +
  `${Math.round(matchTimes.length / (matchWall / 1000))} matches/s, ` +
  `p50 ${pct(matchTimes, 50).toFixed(3)} ms, p99 ${pct(matchTimes, 99).toFixed(3)} ms`);
console.log(`intents loaded and compiled in ${loadMs.toFixed(1)} ms; JSGF generated in ` +
  `${jsgfMs.toFixed(1)} ms (${grammar.length} characters)\n`);
console.log('target                                   measured   target  met');
for (const [, label, value, limit] of targets) {
  console.log(`${label.padEnd(40)} ${String(value).padStart(8)} ${String(limit).padStart(8)}  ${value <= limit ? 'yes' : 'NO'}`);
}
// Dangerous tier: sandbox spawn-to-ready against a plain child, and memory per worker.
const { benchSandbox, printSandbox } = await import('./bench-sandbox.mjs');
const sandbox = await benchSandbox();
console.log('');
printSandbox(sandbox);
mkdirSync('bench-results', { recursive: true });
const nlu = {
  sentences: sentences.length, matches_per_second: Math.round(matchTimes.length / (matchWall / 1000)),
  match_p50_ms: +pct(matchTimes, 50).toFixed(4), match_p99_ms: +pct(matchTimes, 99).toFixed(4),
  load_ms: +loadMs.toFixed(1), jsgf_ms: +jsgfMs.toFixed(1), jsgf_chars: grammar.length,
};
const out = { date: new Date().toISOString(), turns, correct, stages: summary, rtf, nlu, sandbox,
  targets: targets.map(([key, label, value, limit]) => ({ key, label, value, limit, met: value <= limit })) };
writeFileSync('bench-results/bench.json', `${JSON.stringify(out, null, 2)}\n`);
console.log('\nwritten to bench-results/bench.json');
