export {
  agenda, nextMeeting, dayWindow, isCalendarDay, NEXT_MEETING_HORIZON_DAYS,
  EXPANSION_MARGIN_DAYS, type CalendarEvent, type CalendarDay, type CalendarClock,
  type CalendarSource,
} from './read.js';
export { MAX_ICS_BYTES } from './file.js';
export { describeAgenda, describeNextMeeting } from './speech.js';
