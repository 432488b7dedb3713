import { calendarManifest } from '../manifests.js';
import type { ActionContext, Connector } from '../types.js';
import {
  agenda,
  describeAgenda,
  describeNextMeeting,
  nextMeeting,
  type CalendarDay,
} from './index.js';

/** The calendar connector: safe, read-only answers from one iCalendar file. */
export function createCalendarConnector(icsPath: string): Connector {
  return {
    manifest: calendarManifest,
    async run(action: string, input: unknown, ctx: ActionContext) {
      const clock = { now: ctx.now, timeZone: ctx.timeZone };
      if (action === 'agenda') {
        const { day } = input as { day: CalendarDay };
        const events = await agenda(icsPath, day, clock);
        return { speech: describeAgenda(events, day, ctx.timeZone), data: { events } };
      }
      const next = await nextMeeting(icsPath, clock);
      return { speech: describeNextMeeting(next, clock), data: { event: next } };
    },
  };
}
