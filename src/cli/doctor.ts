import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { TIERS } from '../connectors/types.js';
import { asGatewayError } from '../errors.js';
import { tierUnavailable } from '../isolation/executor.js';
import { binaryProbe, probeIsolation, type Probe } from '../isolation/host.js';

const PS_MODEL = '/usr/share/pocketsphinx/model/en-us';

async function probeEngines(): Promise<Probe[]> {
  const probes: Probe[] = [
    binaryProbe('espeak-ng', 'espeak-ng', 'text-to-speech'),
    binaryProbe('sox', 'sox', 'microphone and audio conversion'),
    {
      name: 'pocketsphinx model',
      ok: existsSync(`${PS_MODEL}/en-us`),
      detail: PS_MODEL,
      fix: existsSync(`${PS_MODEL}/en-us`) ? null : 'apt-get install pocketsphinx-en-us',
    },
  ];
  const { helperPath } = await import('../stt/pocketsphinx.js');
  const helper = helperPath();
  probes.push({
    name: 'pocketsphinx helper',
    ok: existsSync(helper),
    detail: helper,
    fix: existsSync(helper) ? null : 'run ./scripts/setup.sh (needs libpocketsphinx-dev)',
  });
  try {
    const { defaultModelDir, availableKeywords } = await import('../wake/models.js');
    const keywords = await availableKeywords(defaultModelDir());
    probes.push({
      name: 'openWakeWord models',
      ok: keywords.length > 0,
      detail: keywords.join(', '),
      fix: null,
    });
  } catch (err) {
    probes.push({
      name: 'openWakeWord models',
      ok: false,
      detail: asGatewayError(err).message,
      fix: 'npm ci',
    });
  }
  return probes;
}

/** `gateway doctor`: what this host can provide, and what to do about what it cannot. */
export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, options: { json: { type: 'boolean' }, config: { type: 'string', short: 'c' } },
  });
  const { config } = loadConfig(values.config);
  const engines = await probeEngines();
  const isolation = probeIsolation();
  const tiers = TIERS.map((tier) => {
    const why = tierUnavailable(tier, config);
    return { tier, available: why === null, detail: why ?? 'runs in the gateway process' };
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ engines, isolation, tiers })}\n`);
  } else {
    const show = (title: string, probes: Probe[]): void => {
      process.stdout.write(`${title}\n`);
      for (const p of probes) {
        const fix = p.fix ? `  -> ${p.fix}` : '';
        process.stdout.write(`  ${p.ok ? 'ok ' : 'no '} ${p.name.padEnd(22)} ${p.detail}${fix}\n`);
      }
    };
    show('engines', engines);
    show('isolation layers', isolation);
    process.stdout.write('tiers\n');
    for (const t of tiers) {
      process.stdout.write(`  ${t.available ? 'ok ' : 'no '} ${t.tier.padEnd(22)} ${t.detail}\n`);
    }
  }
  return engines.every((p) => p.ok) ? 0 : 1;
}
