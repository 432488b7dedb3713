import type { TurnReport } from '../dialogue/report.js';

/** Human-readable rendering of a turn report, for the terminal. */
export function formatTurn(r: TurnReport): string {
  const source = r.input.kind === 'audio' ? r.input.source : `"${r.input.source}"`;
  const lines = [`turn ${r.turn}  ${source}`];
  const row = (label: string, value: string): void => {
    lines.push(`  ${label.padEnd(9)} ${value}`);
  };
  if (r.wake) {
    const { keyword, engine, score, atMs } = r.wake;
    row('wake', `${keyword} (${engine}) score ${score} at ${atMs} ms`);
  }
  if (r.transcript) {
    const conf = r.transcript.confidence === null ? '' : ` (confidence ${r.transcript.confidence})`;
    row('heard', `"${r.transcript.text}"${conf}`);
  }
  if (r.intent) {
    const slots = Object.entries(r.intent.slots).map(([k, v]) => `${k}=${v}`).join(' ');
    row('intent', `${r.intent.name}${slots ? ` ${slots}` : ''}`);
  }
  if (r.action) row('action', `${r.action}${r.tier ? ` [tier ${r.tier}]` : ''}`);
  const why = [r.reason, r.outcome].filter(Boolean).join(', ');
  row('decision', `${r.decision}${why ? ` (${why})` : ''}`);
  if (r.isolation) row('isolated', `sandbox: ${r.isolation.layers.join(', ')}`);
  if (r.microvm) {
    const v = r.microvm;
    row('microvm', `${v.backend}, ${v.mode}, boot ${v.bootMs ?? '?'} ms, ready ` +
      `${v.startMs ?? '?'} ms after launch: ${v.hiddenMs ?? '?'} ms hidden behind the prompt, ` +
      `${v.addedWaitMs ?? '?'} ms added after "confirm" (${v.clock} clock)`);
  }
  if (r.reply) row('reply', `"${r.reply.text}"${r.reply.audio ? `  -> ${r.reply.audio}` : ''}`);
  const t = Object.entries(r.timings).map(([k, v]) => `${k} ${v}`).join(', ');
  if (t) row('ms', t);
  return lines.map(oneLine).join('\n');
}

/** Control characters (a newline in a file name, a terminal escape) are shown escaped. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}
