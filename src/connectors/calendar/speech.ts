import type { CalendarClock, CalendarDay, CalendarEvent } from './read.js';
import { addDays, civilDateAt, sameDate, spokenTime } from './time.js';

const DAY_LABEL: Readonly<Record<CalendarDay, string>> = {
  today: 'Today',
  tomorrow: 'Tomorrow',
  day_after_tomorrow: 'The day after tomorrow',
};

/** "Stand-up" -> "stand-up" inside a sentence, but "ABC review" stays as it is. */
function inSentence(summary: string): string {
  const title = summary.trim() === '' ? 'an untitled event' : summary.trim();
  const second = title.charAt(1);
  if (second !== '' && second === second.toUpperCase() && second !== second.toLowerCase()) {
    return title;
  }
  return title.charAt(0).toLowerCase() + title.slice(1);
}

function listed(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;
}

function whenInDay(e: CalendarEvent, timeZone: string): string {
  if (e.allDay) return 'all day';
  const starts = civilDateAt(e.start, timeZone);
  const ends = civilDateAt(new Date(e.end.getTime() - 1), timeZone);
  // An event that began on an earlier day is described by when it ends.
  if (e.start.getTime() < e.end.getTime() && !sameDate(starts, ends)) {
    return `until ${spokenTime(e.end, timeZone)}`;
  }
  return `at ${spokenTime(e.start, timeZone)}`;
}

/**
 * One spoken sentence for a day's agenda, e.g. "Tomorrow you have 2 events: stand-up at
 * 9:30 AM and dentist at 3 PM." or "Tomorrow your calendar is empty."
 */
export function describeAgenda(
  events: readonly CalendarEvent[],
  day: CalendarDay,
  timeZone: string,
): string {
  const label = DAY_LABEL[day];
  if (events.length === 0) return `${label} your calendar is empty.`;
  const noun = events.length === 1 ? 'event' : 'events';
  const items = events.map((e) => `${inSentence(e.summary)} ${whenInDay(e, timeZone)}`);
  return `${label} you have ${events.length} ${noun}: ${listed(items)}.`;
}

/**
 * "Your next meeting is stand-up tomorrow at 9:30 AM." Days beyond tomorrow are named by
 * weekday and date ("on Tuesday, December 15").
 */
export function describeNextMeeting(event: CalendarEvent | null, clock: CalendarClock): string {
  if (event === null) return 'You have no meetings coming up.';
  const { timeZone } = clock;
  const today = civilDateAt(clock.now, timeZone);
  const date = civilDateAt(event.start, timeZone);
  let when: string;
  if (sameDate(date, today)) when = 'today';
  else if (sameDate(date, addDays(today, 1))) when = 'tomorrow';
  else {
    when = `on ${new Intl.DateTimeFormat('en-US', {
      timeZone, weekday: 'long', month: 'long', day: 'numeric',
    }).format(event.start)}`;
  }
  return `Your next meeting is ${inSentence(event.summary)} ${when} at `
    + `${spokenTime(event.start, timeZone)}.`;
}
