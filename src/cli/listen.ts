import { openMicrophone } from '../audio/mic.js';
import { playAudio } from '../tts/player.js';
import { GatewayError } from '../errors.js';
import { parseCommon } from './args.js';
import { formatTurn } from './output.js';
import { openSession } from './session.js';
import { startWarmPool } from '../isolation/critical.js';
import { closeAllPools } from '../isolation/vm/pool.js';

/**
 * `gateway listen`: the microphone, turn after turn, until Ctrl-C. The first
 * Ctrl-C stops listening and lets the current turn finish; a second one exits now.
 */
export async function listenCommand(argv: string[]): Promise<number> {
  const args = parseCommon(argv);
  if (args.positionals.length > 0) {
    throw new GatewayError('GW_USAGE', `listen takes no files (got ${args.positionals[0]})`);
  }
  const session = await openSession(args);
  const stop = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write('gateway: stopping (Ctrl-C again to exit now)\n');
      stop.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { config } = session.loaded;
    const mic = openMicrophone({
      recorder: config.audio.recorder,
      device: config.audio.device || undefined,
      signal: stop.signal,
    });
    await startWarmPool(config, session.log);
    session.log.info({ recorder: config.audio.recorder }, 'listening');
    await session.pipeline.runLive(mic, async (report) => {
      process.stdout.write(args.json ? `${JSON.stringify(report)}\n` : `${formatTurn(report)}\n\n`);
      if (report.reply?.audio && !stop.signal.aborted) {
        await playAudio(report.reply.audio, { signal: stop.signal }).catch((err: Error) => {
          session.log.warn({ err: err.message }, 'playback failed');
        });
      }
    }, stop.signal);
    return 0;
  } finally {
    stop.abort(); // stops the recording program on every way out, errors included
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await closeAllPools();
    await session.close();
  }
}
