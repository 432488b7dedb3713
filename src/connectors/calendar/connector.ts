import path from 'node:path';
import { calendarManifest } from '../manifests.js';
import type { ActionContext, Connector } from '../types.js';
import { caldavAccess, fetchCalDavTexts } from './caldav.js';
import type { CalendarConfig } from './config.js';
import {
  agenda,
  describeAgenda,
  describeNextMeeting,
  nextMeeting,
  type CalendarDay,
  type CalendarSource,
} from './index.js';

/**
 * Where this call reads events: the CalDAV account when caldav_url is set (its password read
 * now, so a missing one is a spoken "not set up"), else the iCalendar file.
 */
function sourceFor(config: CalendarConfig, baseDir: string, signal: AbortSignal): CalendarSource {
  if (!config.caldav_url) return path.resolve(baseDir, config.ics_path);
  const access = caldavAccess(config, baseDir);
  return (from, to) => fetchCalDavTexts(access, from, to, signal);
}

/** The calendar connector: safe, read-only answers from an iCalendar file or CalDAV. */
export function createCalendarConnector(config: CalendarConfig, baseDir: string): Connector {
  return {
    manifest: calendarManifest,
    async run(action: string, input: unknown, ctx: ActionContext) {
      const clock = { now: ctx.now, timeZone: ctx.timeZone };
      const source = sourceFor(config, baseDir, ctx.signal);
      if (config.dry_run && typeof source !== 'string') {
        const what = action === 'agenda' ? 'the agenda' : 'the next meeting';
        return { speech: `Dry run: I would ask the calendar server for ${what}.`,
          data: { dryRun: true, url: config.caldav_url } };
      }
      if (action === 'agenda') {
        const { day } = input as { day: CalendarDay };
        const events = await agenda(source, day, clock);
        return { speech: describeAgenda(events, day, ctx.timeZone), data: { events } };
      }
      const next = await nextMeeting(source, clock);
      return { speech: describeNextMeeting(next, clock), data: { event: next } };
    },
  };
}
