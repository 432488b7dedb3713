/** Local calendar day and minute of the day in the dialogue's time zone. */
export interface LocalClock {
  /** `YYYY-MM-DD`: the day the daily caps count. */
  readonly day: string;
  /** 0..1439 minutes since local midnight: what refused hours compare against. */
  readonly minute: number;
}

/** `timeZone` empty means the host's zone, as everywhere in the dialogue. */
export function localClock(now: Date, timeZone: string): LocalClock {
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone: timeZone || undefined,
    year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  });
  const parts = Object.fromEntries(format.formatToParts(now).map((p) => [p.type, p.value]));
  return {
    day: `${parts.year}-${parts.month}-${parts.day}`,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}
