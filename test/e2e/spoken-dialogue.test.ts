import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../../src/audio/wav.js';
import type { Pipeline } from '../../src/dialogue/pipeline.js';
import type { TurnReport } from '../../src/dialogue/report.js';
import { audioOf, conversation, synthesise, useRealEngines } from './harness.js';

/**
 * Multi-turn dialogues spoken to the real recogniser: a slot asked for, "which one?", and
 * the PIN, each answer said without the wake word inside the follow-up window.
 */
const engines = useRealEngines();
let dir: string;
const CONFIRM = 'followup_confirm__en-us+f3_185.wav';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gw-spoken-dialogue-'));
  await writeFile(path.join(dir, 'pin'), '4321\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Says each line in turn (the first with the wake word), returning every report. */
async function talk(c: Pipeline, lines: readonly string[]): Promise<TurnReport[]> {
  const out: TurnReport[] = [];
  for (const [i, line] of lines.entries()) {
    if (line === CONFIRM) {
      out.push(await c.runAudio(await audioOf(CONFIRM), CONFIRM));
      continue;
    }
    const file = await synthesise(line, dir, `turn${String(i)}`, { wake: i === 0 });
    out.push(await c.runAudio((await readWavFile(file)).samples, file));
  }
  return out;
}

describe('spoken questions and answers', () => {
  it('asks for the substation, hears the answer, and reads every number back', async () => {
    const [ask, answer] = await talk(conversation(engines()),
      ['close breaker seven', 'substation twelve']);
    expect(ask).toMatchObject({ decision: 'clarification_requested', reason: 'missing_slot' });
    expect(ask?.transcript?.text).toBe('close breaker seven');
    expect(answer?.wake).toBeNull();
    expect(answer?.transcript?.text).toBe('substation twelve');
    expect(answer?.decision).toBe('confirmation_requested');
    expect(answer?.intent?.slots).toEqual({ operation: 'close', breaker: 7, substation: 12 });
    expect(answer?.reply?.text).toMatch(/^Close breaker seven at substation twelve\./);
  });

  it('asks which Sam, and takes the answer by position', async () => {
    const [ask, pick] = await talk(conversation(engines()),
      ["tell sam i'm on my way", 'the second one']);
    expect(ask).toMatchObject({ decision: 'clarification_requested', reason: 'ambiguous' });
    expect(pick?.transcript?.text).toBe('the second one');
    expect(pick?.intent?.slots).toEqual({ contact: 'sam_patel', body: "i'm on my way" });
    expect(pick?.decision).toBe('confirmation_requested');
  });

  it('hears a spoken PIN after "confirm" and never reports its digits', async () => {
    const c = conversation(engines(), { dialogue: { second_factor: {
      connectors: { scada_dnp3: 'pin' }, pin_file: path.join(dir, 'pin') } } });
    const [, confirm, pin] = await talk(c,
      ['close breaker seven at substation twelve', CONFIRM, 'four three two one']);
    expect(confirm).toMatchObject({ reason: 'pin_required', reply: { text: 'Say your PIN.' } });
    expect(pin?.transcript?.text).toBe('[secret]');
    expect(JSON.stringify(pin)).not.toMatch(/four|three|4321/);
    // The PIN was right: the action went on to its tier (refused here: no microVM tier).
    expect(pin).toMatchObject({ reason: 'GW_TIER_UNAVAILABLE', outcome: 'refused' });
  });
});
