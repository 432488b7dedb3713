/**
 * Civil dates and wall-clock times in an IANA time zone, with Intl only: the calendar
 * answers "what is tomorrow" in the user's zone, whatever zone the process runs in.
 */

/** A calendar date with no time zone: year, month 1..12, day 1..31. */
export interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    partsFormatters.set(timeZone, f);
  }
  return f;
}

function wallClock(instant: Date, timeZone: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of partsFormatter(timeZone).formatToParts(instant)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return out;
}

/** Throws a RangeError for a time zone name that Intl does not know. */
export function checkTimeZone(timeZone: string): void {
  partsFormatter(timeZone);
}

/** The date on the wall calendar at `instant` in `timeZone`. */
export function civilDateAt(instant: Date, timeZone: string): CivilDate {
  const w = wallClock(instant, timeZone);
  return { year: w.year ?? 0, month: w.month ?? 0, day: w.day ?? 0 };
}

export function addDays(date: CivilDate, days: number): CivilDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Offset of `timeZone` from UTC at `instant`, in milliseconds. */
function offsetAt(instant: number, timeZone: string): number {
  const w = wallClock(new Date(instant), timeZone);
  const asUtc = Date.UTC(w.year ?? 0, (w.month ?? 1) - 1, w.day ?? 1, w.hour ?? 0,
    w.minute ?? 0, w.second ?? 0);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The first instant of `date` in `timeZone` (usually local midnight). */
export function startOfDay(date: CivilDate, timeZone: string): Date {
  const guess = Date.UTC(date.year, date.month - 1, date.day);
  let t = guess - offsetAt(guess, timeZone);
  // A second pass settles days whose offset differs from the guess's (DST changes).
  t = guess - offsetAt(t, timeZone);
  return new Date(t);
}

/** "9:30 AM", "3 PM" in `timeZone`: how a person says a time. */
export function spokenTime(instant: Date, timeZone: string): string {
  const text = new Intl.DateTimeFormat('en-US', {
    timeZone, hour: 'numeric', minute: '2-digit', hour12: true,
  }).format(instant);
  return text.replace(/\s+/gu, ' ').replace(':00 ', ' ');
}

export function sameDate(a: CivilDate, b: CivilDate): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day;
}
