import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseOrUsage } from './args.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { TIERS } from '../connectors/types.js';
import { asGatewayError } from '../errors.js';
import { closeEngines, createEngines } from '../dialogue/engines.js';
import { createLogger } from '../log.js';
import { tierUnavailable } from '../isolation/executor.js';
import { binaryProbe, probeIsolation, type Probe } from '../isolation/host.js';
import { probeSandbox } from '../isolation/sandbox/probe.js';
import { probeVm, type VmProbe } from '../isolation/vm/probe.js';

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

/** Starts the engines the configuration names, as `replay` would, and stops them again. */
async function probeConfigured(loaded: LoadedConfig): Promise<Probe[]> {
  const { config, baseDir } = loaded;
  const probes: Probe[] = [];
  try {
    const engines = await createEngines(loaded, createLogger({ level: 'silent' }));
    await closeEngines(engines);
    const names = `wake ${config.wake.engine}, stt ${config.stt.engine}, tts ${config.tts.engine}`;
    probes.push({ name: 'configured engines', ok: true, detail: names, fix: null });
  } catch (err) {
    const e = asGatewayError(err);
    probes.push({ name: 'configured engines', ok: false, detail: `${e.code}: ${e.message}`,
      fix: 'see the message; ./scripts/setup.sh installs the offline engines' });
  }
  const ics = path.resolve(baseDir, config.connectors.calendar.ics_path);
  const readable = existsSync(ics) && statSync(ics).isFile();
  probes.push({ name: 'calendar file', ok: readable, detail: ics,
    fix: readable ? null : 'set connectors.calendar.ics_path to an iCalendar file' });
  return probes;
}

/** The critical tier: backend and why, accelerator and why, the image and its store. */
function vmProbes(vm: VmProbe): Probe[] {
  const imageFix: Partial<Record<string, string>> = {
    GW_IMAGE_MISSING: 'gateway keys; gateway rootfs build; gateway rootfs sign; ' +
      'gateway rootfs install build/rootfs (as root, with [microvm] store_dir set)',
    GW_IMAGE_STORE_UNSAFE: 'set [microvm] store_dir and run `gateway rootfs install <image ' +
      'folder>` as root (files 0444, folders 0555, owned by root)',
    GW_IMAGE_INVALID: 'rebuild and sign the image, or `gateway rootfs update`',
  };
  const backendBroken = vm.backend === null;
  const where = vm.storeDir ? `store ${vm.storeDir}, current ${vm.imageDir || '(none)'}`
    : vm.imageDir;
  return [
    { name: 'microVM backend', ok: !backendBroken, detail: vm.why,
      fix: backendBroken ? 'install what this line names, or set [microvm] backend = "auto"'
        : null },
    { name: 'microVM accelerator', ok: true, detail: `${vm.accel.accel}: ${vm.accel.why}`,
      fix: null },
    { name: 'microVM image', ok: vm.unavailable === null,
      detail: backendBroken ? where : vm.unavailable ?? `${where} (signature and hashes verify)`,
      fix: vm.unavailable && !backendBroken
        ? imageFix[vm.code ?? 'GW_IMAGE_MISSING'] ?? imageFix.GW_IMAGE_MISSING ?? null : null },
  ];
}

/** `gateway doctor`: what this host can provide, and what to do about what it cannot. */
export async function doctorCommand(argv: string[]): Promise<number> {
  const { values } = parseOrUsage({
    args: argv, options: { json: { type: 'boolean' }, config: { type: 'string', short: 'c' } },
  });
  const loaded = loadConfig(values.config);
  const { config } = loaded;
  const engines = [...await probeEngines(), ...await probeConfigured(loaded)];
  const sandbox = await probeSandbox();
  // Which microVM backend and why, and whether the signed image verifies file by file.
  const vm = await probeVm(config, { deep: true });
  const isolation = [...sandbox.layers, ...probeIsolation(), ...vmProbes(vm)];
  const inTier = {
    safe: 'runs in the gateway process',
    elevated: 'runs in the gateway process',
    dangerous: `runs in a sandbox: namespaces, Landlock ABI ${sandbox.landlockAbi}, seccomp, ` +
      'rlimits, brokered egress',
    critical: `runs in a microVM: ${vm.why}`,
  };
  const tiers = TIERS.map((tier) => {
    const why = tierUnavailable(tier, config, sandbox, vm);
    return { tier, available: why === null, detail: why ?? inTier[tier] };
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
