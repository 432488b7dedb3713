import path from 'node:path';
import { readSecret, type LoadedConfig, type GatewayConfig } from '../config/load.js';
import type { RegisteredConnector, Tier } from '../connectors/types.js';
import { createConnectors, sandboxPlans } from '../connectors/registry.js';
import { Pipeline, type ActionAudit, type Engines } from '../dialogue/pipeline.js';
import { createVad } from '../endpoint/index.js';
import { resolveTier } from '../isolation/tiers.js';
import type { Logger } from '../log.js';
import type { SpeechToText, Transcript } from '../stt/types.js';
import { createWakeDetector, type WakeDetector, type WakeEvent } from '../wake/index.js';

/**
 * What a live stream learns before its turn report is ready: the wake word, the start of
 * speech and the final transcript, each as soon as the stage produces it.
 */
export interface LiveHooks {
  onWake?(e: WakeEvent): void;
  onSpeechStart?(): void;
  onTranscript?(t: Transcript): void;
}

function hookWake(w: WakeDetector, hooks: LiveHooks): WakeDetector {
  return {
    engine: w.engine, keyword: w.keyword,
    async process(samples) {
      const e = await w.process(samples);
      if (e) hooks.onWake?.(e);
      return e;
    },
    reset: () => w.reset(),
    close: () => w.close(),
  };
}

/** The shared recogniser, seen through one stream's hooks; closing it is not the stream's job. */
function hookStt(stt: SpeechToText, hooks: LiveHooks): SpeechToText {
  return {
    engine: stt.engine,
    start(options) {
      const s = stt.start(options);
      hooks.onSpeechStart?.();
      return {
        write: (samples) => s.write(samples),
        abort: () => s.abort(),
        async end() {
          const t = await s.end();
          hooks.onTranscript?.(t);
          return t;
        },
      };
    },
    transcribe: (samples, options) => stt.transcribe(samples, options),
    close: async () => undefined,
  };
}

/** Who is asking, as an accepted token says: the principal and the tiers granted to it. */
export interface Grant {
  readonly principal: string;
  readonly tiers: readonly Tier[];
}

export interface OpenedPipeline {
  readonly pipeline: Pipeline;
  /** Closes the stream's own detectors (never the shared engines). */
  close(): Promise<void>;
}

/**
 * Builds the Pipeline of one conversation for one principal. Recognition and synthesis
 * engines are shared (each utterance gets its own recogniser process); a stream's wake
 * detector and VAD keep audio history, so every stream gets its own.
 */
export class PipelineFactory {
  /** Every connector with its resolved tier, to name the tier of any action. */
  private readonly all: Map<string, RegisteredConnector>;

  constructor(
    private readonly loaded: LoadedConfig,
    private readonly shared: Engines,
    private readonly log: Logger,
    private readonly timeZone: string,
    /** The signed audit trail; without it, dangerous and critical actions are refused. */
    private readonly audit: ActionAudit | null = null,
  ) {
    this.all = createConnectors(loaded.config, loaded.baseDir);
  }

  get engines(): Engines {
    return this.shared;
  }

  /** The tier `connector.action` runs in, or null for an action no connector declares. */
  tierOf(action: string | null): Tier | null {
    if (!action) return null;
    const [connector = '', name = ''] = action.split('.', 2);
    const spec = this.all.get(connector)?.manifest.actions[name];
    return spec ? resolveTier(connector, spec.tier, this.loaded.config) : null;
  }

  /** The action a typed sentence asks for, without running anything (for the tier check). */
  actionOf(text: string): string | null {
    const m = this.shared.intents.match(text.trim());
    return m.kind === 'intent' ? m.action ?? null : null;
  }

  async open(grant: Grant, o: { audio: 'none' | 'push_to_talk' | 'wake_word';
    outputDir: string | null; hooks?: LiveHooks }): Promise<OpenedPipeline> {
    const { config, baseDir } = this.loaded;
    // A stream that asks for the wake word gets the configured engine; with `wake.engine =
    // "none"` the embedded openWakeWord model serves, so the mode never silently disappears.
    const engine = config.wake.engine === 'none' ? 'openwakeword' : config.wake.engine;
    const wake = o.audio === 'wake_word'
      ? await createWakeDetector({
        engine, keyword: config.wake.keyword, threshold: config.wake.threshold,
        accessKey: engine === 'porcupine'
          ? readSecret('PICOVOICE_ACCESS_KEY', config.wake.porcupine_access_key_file, baseDir)
            ?? undefined
          : undefined,
      })
      : null;
    const vad = o.audio === 'none' ? this.shared.vad : await createVad(config.endpoint.vad);
    const engines: Engines = o.hooks
      ? { ...this.shared, wake: wake && hookWake(wake, o.hooks), vad,
        stt: hookStt(this.shared.stt, o.hooks) }
      : { ...this.shared, wake, vad };
    const pipeline = new Pipeline({
      config: asPrincipal(config, grant.principal),
      engines,
      connectors: this.granted(grant.tiers),
      log: this.log.child({ principal: grant.principal }),
      outputDir: o.outputDir === null ? null : path.resolve(o.outputDir),
      timeZone: this.timeZone,
      baseDir,
      sandboxPlan: sandboxPlans(config, baseDir),
      ...(this.audit ? { audit: this.audit } : {}),
    });
    return {
      pipeline,
      async close() {
        await Promise.allSettled([pipeline.close(), wake?.close(),
          o.audio === 'none' ? undefined : vad.close()]);
      },
    };
  }

  /**
   * Only the actions whose tier the token grants. An action outside them is then unknown
   * to this conversation, so no path (typed, spoken, confirmed) can reach it: fail closed.
   */
  private granted(tiers: readonly Tier[]): Map<string, RegisteredConnector> {
    const { config, baseDir } = this.loaded;
    const out = new Map<string, RegisteredConnector>();
    for (const [name, c] of createConnectors(config, baseDir)) {
      const actions = Object.fromEntries(Object.entries(c.manifest.actions)
        .filter(([, spec]) => tiers.includes(resolveTier(name, spec.tier, config))));
      out.set(name, { ...c, manifest: { ...c.manifest, actions } });
    }
    return out;
  }
}

/**
 * The configuration as one principal's conversation sees it. The Pipeline names the turn's
 * principal from `dialogue.local_principal` (for policy and the executor), so a token's
 * principal takes that place. Policy semantics follow: with no `[policy.principals]`, the
 * conversation's own principal may do what its token's tiers allow; once principals are
 * listed, only listed ones may act. (A Pipeline option for the principal would say this
 * more directly; see the hand-over notes.)
 */
function asPrincipal(config: GatewayConfig, principal: string): GatewayConfig {
  return { ...config, dialogue: { ...config.dialogue, local_principal: principal } };
}
