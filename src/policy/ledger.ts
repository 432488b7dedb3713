import type { Currency } from '../nlu/types.js';

/** One action that moved money, as the daily caps count it. */
export interface SpendEntry {
  readonly principal: string;
  /** `connector.action`, e.g. `banking_plaid.payment`. */
  readonly action: string;
  /** Calendar day in the dialogue's time zone, `YYYY-MM-DD`. */
  readonly day: string;
  readonly currency: Currency;
  readonly amount: number;
}

/**
 * Where the daily caps read what was already spent. Kept this small so that the service's
 * SQLite store can implement it later (one table, one GROUP BY query); until then the
 * in-memory ledger below forgets everything when the process ends, so a daily cap only
 * holds within one process's lifetime.
 */
export interface SpendLedger {
  /** Sum per `connector.action` of one principal's spending on one day in one currency. */
  spent(principal: string, day: string, currency: Currency): ReadonlyMap<string, number>;
  record(entry: SpendEntry): void;
}

export class InMemorySpendLedger implements SpendLedger {
  private readonly entries: SpendEntry[] = [];

  spent(principal: string, day: string, currency: Currency): ReadonlyMap<string, number> {
    const sums = new Map<string, number>();
    for (const e of this.entries) {
      if (e.principal !== principal || e.day !== day || e.currency !== currency) continue;
      sums.set(e.action, (sums.get(e.action) ?? 0) + e.amount);
    }
    return sums;
  }

  record(entry: SpendEntry): void {
    this.entries.push({ ...entry });
  }
}
