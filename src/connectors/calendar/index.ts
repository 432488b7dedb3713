export {
  agenda, nextMeeting, dayWindow, isCalendarDay, MAX_ICS_BYTES, NEXT_MEETING_HORIZON_DAYS,
  EXPANSION_MARGIN_DAYS, type CalendarEvent, type CalendarDay, type CalendarClock,
} from './read.js';
export { describeAgenda, describeNextMeeting } from './speech.js';
