/**
 * Prometheus text exposition, written by hand: three families and a few gauges do not
 * justify a client library. Label values come from closed sets (tiers, outcomes, channels),
 * never from what a caller sends, so the series count stays bounded.
 */

/** Turn latency buckets in seconds: the spoken-turn target is 0.4 s, actions may take 10 s. */
const BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1, 1.5, 2.5, 5, 10];

class Histogram {
  readonly counts = BUCKETS.map(() => 0);
  count = 0;
  sum = 0;

  observe(seconds: number): void {
    this.count += 1;
    this.sum += seconds;
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) this.counts[i] = (this.counts[i] ?? 0) + 1;
    });
  }
}

export type TurnChannel = 'http' | 'stream';

export class Metrics {
  private readonly turns = new Map<TurnChannel, Histogram>();
  private readonly actions = new Map<string, number>();
  private readonly requests = new Map<string, number>();
  /** Critical-tier microVMs that ran an action (cold, restored or claimed warm). */
  microvmBoots = 0;
  streamsOpen = 0;

  observeTurn(channel: TurnChannel, ms: number): void {
    let h = this.turns.get(channel);
    if (!h) {
      h = new Histogram();
      this.turns.set(channel, h);
    }
    h.observe(ms / 1000);
  }

  /** One action decided: by its tier and what came of it (an outcome, or the decision). */
  countAction(tier: string, outcome: string): void {
    const key = `tier="${tier}",outcome="${outcome}"`;
    this.actions.set(key, (this.actions.get(key) ?? 0) + 1);
  }

  countRequest(route: string, status: number): void {
    const key = `route="${route}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP gateway_turn_duration_seconds Time from the end of the input to the reply.');
    out.push('# TYPE gateway_turn_duration_seconds histogram');
    for (const [channel, h] of this.turns) {
      BUCKETS.forEach((b, i) => {
        out.push(`gateway_turn_duration_seconds_bucket{channel="${channel}",le="${b}"} ` +
          `${h.counts[i] ?? 0}`);
      });
      out.push(`gateway_turn_duration_seconds_bucket{channel="${channel}",le="+Inf"} ${h.count}`);
      out.push(`gateway_turn_duration_seconds_sum{channel="${channel}"} ${h.sum}`);
      out.push(`gateway_turn_duration_seconds_count{channel="${channel}"} ${h.count}`);
    }
    out.push('# HELP gateway_actions_total Actions decided, by tier and outcome.');
    out.push('# TYPE gateway_actions_total counter');
    for (const [k, v] of this.actions) out.push(`gateway_actions_total{${k}} ${v}`);
    out.push('# HELP gateway_microvm_boots_total MicroVMs started that ran a critical action.');
    out.push('# TYPE gateway_microvm_boots_total counter');
    out.push(`gateway_microvm_boots_total ${this.microvmBoots}`);
    out.push('# HELP gateway_http_requests_total API requests by route and status.');
    out.push('# TYPE gateway_http_requests_total counter');
    for (const [k, v] of this.requests) out.push(`gateway_http_requests_total{${k}} ${v}`);
    out.push('# HELP gateway_streams_open WebSocket streams open now.');
    out.push('# TYPE gateway_streams_open gauge');
    out.push(`gateway_streams_open ${this.streamsOpen}`);
    const mem = process.memoryUsage();
    out.push('# HELP gateway_resident_memory_bytes Resident set size of the gateway process.');
    out.push('# TYPE gateway_resident_memory_bytes gauge');
    out.push(`gateway_resident_memory_bytes ${mem.rss}`);
    return `${out.join('\n')}\n`;
  }
}
