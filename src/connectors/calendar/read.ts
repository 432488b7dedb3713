import ical, { type EventInstance, type ParameterValue, type VEvent } from 'node-ical';
import { GatewayError } from '../../errors.js';
import { readCalendarText } from './file.js';
import { addDays, checkTimeZone, civilDateAt, startOfDay, type CivilDate } from './time.js';

/** One occurrence of an event, as the calendar connector reports it. */
export interface CalendarEvent {
  /** The event's title. Personal data: never log it. */
  readonly summary: string;
  /** For all-day events, the first instant of the start date in the requested zone. */
  readonly start: Date;
  /** Exclusive end; for all-day events, the first instant of the day after the last. */
  readonly end: Date;
  readonly allDay: boolean;
  /** True when the occurrence comes from a recurrence rule (moved ones included). */
  readonly recurring: boolean;
  readonly location: string | null;
}

export type CalendarDay = 'today' | 'tomorrow' | 'day_after_tomorrow';

/**
 * Where events come from: the path of an iCalendar file, or a function that returns the
 * iCalendar texts of the objects overlapping a time range (a CalDAV account).
 */
export type CalendarSource =
  | string
  | ((from: Date, to: Date) => Promise<readonly string[]>);

export interface CalendarClock {
  /** The moment "today" is measured from. */
  readonly now: Date;
  /** IANA zone of the person asking, e.g. `Europe/London`. */
  readonly timeZone: string;
}

const DAY_OFFSET: Readonly<Record<CalendarDay, number>> = {
  today: 0, tomorrow: 1, day_after_tomorrow: 2,
};
/** How far ahead `nextMeeting` looks. */
export const NEXT_MEETING_HORIZON_DAYS = 90;
/**
 * Occurrences are expanded over the asked window widened by this many days on each side,
 * so that a RECURRENCE-ID override moved into the window from a nearby date, and an event
 * that began earlier and is still going on, are both found.
 */
export const EXPANSION_MARGIN_DAYS = 31;
const DAY_MS = 86_400_000;

export function isCalendarDay(value: unknown): value is CalendarDay {
  return typeof value === 'string' && Object.hasOwn(DAY_OFFSET, value);
}

function text(value: ParameterValue | undefined): string | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? value : value.val;
}

/** node-ical builds date-only values at local midnight of the process's own zone. */
function dateOnly(d: Date): CivilDate {
  return { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate() };
}

function toEvent(i: EventInstance, timeZone: string): CalendarEvent {
  const common = {
    summary: text(i.summary) ?? '',
    allDay: i.isFullDay,
    recurring: i.isRecurring || i.isOverride,
    location: text(i.event.location),
  };
  if (!i.isFullDay) return { ...common, start: new Date(i.start), end: new Date(i.end) };
  const first = dateOnly(i.start);
  const after = i.end.getTime() > i.start.getTime() ? dateOnly(i.end) : addDays(first, 1);
  return { ...common, start: startOfDay(first, timeZone), end: startOfDay(after, timeZone) };
}

async function parseEvents(text: string, origin: string): Promise<VEvent[]> {
  try {
    const data = await ical.async.parseICS(text);
    return Object.values(data).filter((c): c is VEvent => c?.type === 'VEVENT');
  } catch (err) {
    throw new GatewayError('GW_CONNECTOR_FAILED', `cannot parse ${origin}`, { cause: err });
  }
}

/** The VEVENTs of the source; a CalDAV source is asked for the window [from, to) only. */
async function readCalendar(source: CalendarSource, from: Date, to: Date): Promise<VEvent[]> {
  if (typeof source === 'string') {
    return parseEvents(await readCalendarText(source), `calendar file ${source}`);
  }
  const events: VEvent[] = [];
  for (const text of await source(from, to)) {
    events.push(...await parseEvents(text, 'an event from the calendar server'));
  }
  return events;
}

/** Every occurrence overlapping [from, to), sorted: all-day ones first, then by start. */
async function occurrences(
  source: CalendarSource,
  from: Date,
  to: Date,
  timeZone: string,
): Promise<CalendarEvent[]> {
  checkTimeZone(timeZone);
  const margin = EXPANSION_MARGIN_DAYS * DAY_MS;
  const wideFrom = new Date(from.getTime() - margin);
  const wideTo = new Date(to.getTime() + margin);
  const found: CalendarEvent[] = [];
  for (const vevent of await readCalendar(source, wideFrom, wideTo)) {
    const instances = ical.expandRecurringEvent(vevent, {
      from: wideFrom, to: wideTo, expandOngoing: true,
    });
    for (const i of instances) {
      if (i.event.status === 'CANCELLED') continue;
      const e = toEvent(i, timeZone);
      const overlaps = e.start < to && (e.end > from || e.start.getTime() === from.getTime());
      if (overlaps) found.push(e);
    }
  }
  return found.sort((a, b) => Number(b.allDay) - Number(a.allDay)
    || a.start.getTime() - b.start.getTime()
    || a.summary.localeCompare(b.summary));
}

/** The window of one local day: `day` counted from `clock.now` in `clock.timeZone`. */
export function dayWindow(day: CalendarDay, clock: CalendarClock): { from: Date; to: Date } {
  const offset = DAY_OFFSET[day];
  if (!isCalendarDay(day) || offset === undefined) {
    throw new GatewayError('GW_CONNECTOR_FAILED', `unknown calendar day "${String(day)}"`);
  }
  const date = addDays(civilDateAt(clock.now, clock.timeZone), offset);
  return {
    from: startOfDay(date, clock.timeZone),
    to: startOfDay(addDays(date, 1), clock.timeZone),
  };
}

/**
 * Events overlapping one local day (`today`, `tomorrow`, `day_after_tomorrow`), all-day
 * events included, sorted with all-day events first and then by start time.
 */
export async function agenda(
  source: CalendarSource,
  day: CalendarDay,
  clock: CalendarClock,
): Promise<CalendarEvent[]> {
  const { from, to } = dayWindow(day, clock);
  return occurrences(source, from, to, clock.timeZone);
}

/**
 * The first timed event that starts at or after `clock.now`, within
 * NEXT_MEETING_HORIZON_DAYS; all-day events are not meetings. Null when there is none.
 */
export async function nextMeeting(
  source: CalendarSource,
  clock: CalendarClock,
): Promise<CalendarEvent | null> {
  const to = new Date(clock.now.getTime() + NEXT_MEETING_HORIZON_DAYS * DAY_MS);
  const events = await occurrences(source, clock.now, to, clock.timeZone);
  return events.find((e) => !e.allDay && e.start >= clock.now) ?? null;
}
