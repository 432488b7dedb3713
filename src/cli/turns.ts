import { readWavFile } from '../audio/wav.js';
import type { TurnReport } from '../dialogue/report.js';
import { GatewayError } from '../errors.js';
import { parseCommon } from './args.js';
import { formatTurn } from './output.js';
import { openSession, type Session } from './session.js';

function print(report: TurnReport, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${formatTurn(report)}\n\n`);
}

type Run = (s: Session, json: boolean, inputs: string[], realtime: boolean) => Promise<void>;

async function withSession(
  argv: string[],
  what: string,
  run: Run,
  opts: { wake?: boolean } = {},
): Promise<number> {
  const args = parseCommon(argv);
  if (args.positionals.length === 0) {
    throw new GatewayError('GW_USAGE', `${what} needs at least one input`);
  }
  const session = await openSession(args, opts);
  try {
    await run(session, args.json, args.positionals, args.realtime);
    return 0;
  } finally {
    await session.close();
  }
}

/** `gateway replay <wav>...`: every file is one turn of the same conversation. */
export function replayCommand(argv: string[]): Promise<number> {
  return withSession(argv, 'replay', async (s, json, files, realtime) => {
    const maxSeconds = s.loaded.config.audio.max_file_seconds;
    // Decode every file first: a malformed file stops the run before any turn acts.
    const decoded = [];
    for (const file of files) decoded.push(await readWavFile(file, { maxSeconds }));
    for (const [i, wav] of decoded.entries()) {
      const report = await s.pipeline.runAudio(wav.samples, files[i] ?? '', realtime);
      print(report, json);
      // At real speed the reply is heard out before the next recording starts.
      const replyMs = report.reply?.durationMs ?? 0;
      if (realtime && replyMs > 0) await new Promise((r) => setTimeout(r, replyMs));
    }
  });
}

/** `gateway say "<text>"...`: text turns, no wake word and no speech-to-text. */
export function sayCommand(argv: string[]): Promise<number> {
  return withSession(argv, 'say', async (s, json, texts) => {
    for (const text of texts) print(await s.pipeline.runText(text), json);
  }, { wake: false });
}
