import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { encodeWav } from '../../src/audio/wav.js';
import {
  agenda, describeAgenda, describeNextMeeting, nextMeeting, type CalendarEvent,
} from '../../src/connectors/calendar/index.js';

const ICS = join(import.meta.dirname, '../../fixtures/calendar.ics');
const LONDON = 'Europe/London';
/** The demo's fixed clock: Monday 7 December 2026, 08:00 in London. */
const DEMO = { now: new Date('2026-12-07T08:00:00Z'), timeZone: LONDON };

function brief(events: readonly CalendarEvent[]): string[] {
  return events.map((e) => `${e.start.toISOString()} ${e.summary}${e.allDay ? ' (all day)' : ''}`);
}

describe('agenda from the fixture calendar', () => {
  it('lists tomorrow\'s recurring, one-off and other-zone events in time order', async () => {
    const events = await agenda(ICS, 'tomorrow', DEMO);
    expect(brief(events)).toEqual([
      '2026-12-08T09:30:00.000Z Stand-up',
      '2026-12-08T15:00:00.000Z Dentist',
      '2026-12-08T16:00:00.000Z Call with the New York office',
    ]);
    expect(events.map((e) => e.recurring)).toEqual([true, false, false]);
    expect(events[0]?.location).toBe('Control room');
  });

  it('returns no events for an empty day', async () => {
    expect(await agenda(ICS, 'today', DEMO)).toEqual([]);
  });

  it('includes an all-day event on its date but not a late call from another zone', async () => {
    const events = await agenda(ICS, 'day_after_tomorrow', DEMO);
    expect(brief(events)).toEqual(['2026-12-09T00:00:00.000Z Team offsite (all day)']);
    expect(events[0]?.end.toISOString()).toBe('2026-12-10T00:00:00.000Z');
  });

  it('puts an evening New York event on the next London day', async () => {
    const events = await agenda(ICS, 'today', { now: new Date('2026-12-10T09:00:00Z'),
      timeZone: LONDON });
    expect(brief(events)).toEqual(['2026-12-10T00:30:00.000Z Late call with Boston']);
  });

  it('reads the same calendar for a person in New York', async () => {
    const ny = { now: new Date('2026-12-09T12:00:00Z'), timeZone: 'America/New_York' };
    expect(brief(await agenda(ICS, 'today', ny))).toEqual([
      '2026-12-09T05:00:00.000Z Team offsite (all day)',
      '2026-12-10T00:30:00.000Z Late call with Boston',
    ]);
  });

  it('skips an occurrence removed by EXDATE', async () => {
    const monday = { now: new Date('2026-11-30T08:00:00Z'), timeZone: LONDON };
    expect(await agenda(ICS, 'tomorrow', monday)).toEqual([]);
    const before = { now: new Date('2026-11-23T08:00:00Z'), timeZone: LONDON };
    expect(brief(await agenda(ICS, 'tomorrow', before)))
      .toEqual(['2026-11-24T09:30:00.000Z Stand-up']);
  });

  it('uses the RECURRENCE-ID override instead of the rule\'s occurrence', async () => {
    const monday = { now: new Date('2026-12-14T08:00:00Z'), timeZone: LONDON };
    const events = await agenda(ICS, 'tomorrow', monday);
    expect(brief(events)).toEqual(['2026-12-15T14:00:00.000Z Stand-up (moved)']);
    expect(events[0]?.recurring).toBe(true);
  });

  it('keeps the stand-up at 9:30 London time across the change from summer time', async () => {
    const october = { now: new Date('2026-10-12T08:00:00Z'), timeZone: LONDON };
    const events = await agenda(ICS, 'tomorrow', october);
    expect(brief(events)).toEqual(['2026-10-13T08:30:00.000Z Stand-up']);
    expect(describeAgenda(events, 'tomorrow', LONDON))
      .toBe('Tomorrow you have 1 event: stand-up at 9:30 AM.');
  });

  it('does not depend on the time zone of the process', async () => {
    const saved = process.env.TZ;
    onTestFinished(() => {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    });
    process.env.TZ = 'Pacific/Kiritimati';
    const events = await agenda(ICS, 'day_after_tomorrow', DEMO);
    expect(brief(events)).toEqual(['2026-12-09T00:00:00.000Z Team offsite (all day)']);
  });

  it('refuses a missing calendar file as a setting to fix, not to retry', async () => {
    // Guards against a missing file being retried as a passing connector failure.
    await expect(agenda(join(tmpdir(), 'no-such-calendar.ics'), 'today', DEMO))
      .rejects.toMatchObject({ code: 'GW_CONNECTOR_CONFIG', retryable: false });
  });

  it('leaves out cancelled events', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'calendar-test-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'c.ics');
    await writeFile(path, ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//t//EN',
      'BEGIN:VEVENT', 'UID:a@t', 'DTSTAMP:20261201T000000Z', 'DTSTART:20261208T100000Z',
      'DTEND:20261208T110000Z', 'SUMMARY:Kept', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:b@t', 'DTSTAMP:20261201T000000Z', 'DTSTART:20261208T120000Z',
      'DTEND:20261208T130000Z', 'SUMMARY:Dropped', 'STATUS:CANCELLED', 'END:VEVENT',
      'END:VCALENDAR', ''].join('\r\n'));
    expect(brief(await agenda(path, 'tomorrow', DEMO)))
      .toEqual(['2026-12-08T10:00:00.000Z Kept']);
  });
});

describe('calendar files that are not calendars', () => {
  async function fileWith(name: string, bytes: string | Buffer): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'calendar-test-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  }

  it('refuses a WAV file with GW_CONNECTOR_FAILED instead of reading an empty calendar',
    async () => {
      // Guards against any non-calendar file answering "nothing on your calendar".
      const wav = await fileWith('c.ics', encodeWav(new Int16Array(1600), 16000));
      await expect(agenda(wav, 'today', DEMO)).rejects.toMatchObject({
        code: 'GW_CONNECTOR_FAILED', message: expect.stringContaining('not an iCalendar'),
      });
      await expect(nextMeeting(wav, DEMO)).rejects.toMatchObject({
        code: 'GW_CONNECTOR_FAILED',
      });
    });

  it('refuses text without BEGIN:VCALENDAR with GW_CONNECTOR_FAILED', async () => {
    // Guards against notes or an event fragment being read as an empty calendar.
    const text = await fileWith('c.ics', 'Stand-up at 9:30 in the control room\n');
    const fragment = await fileWith('d.ics', ['BEGIN:VEVENT', 'UID:a@t',
      'DTSTART:20261207T100000Z', 'SUMMARY:Loose', 'END:VEVENT', ''].join('\r\n'));
    for (const path of [text, fragment]) {
      await expect(agenda(path, 'today', DEMO)).rejects.toMatchObject({
        code: 'GW_CONNECTOR_FAILED',
      });
    }
  });

  it('reads a calendar that starts with a byte order mark and a lower-case BEGIN', async () => {
    // Guards against the new start check refusing valid exports.
    const path = await fileWith('c.ics', ['\uFEFFbegin:vcalendar', 'VERSION:2.0',
      'BEGIN:VEVENT', 'UID:a@t', 'DTSTAMP:20261201T000000Z', 'DTSTART:20261207T100000Z',
      'DTEND:20261207T110000Z', 'SUMMARY:Kept', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n'));
    expect(brief(await agenda(path, 'today', DEMO))).toEqual(['2026-12-07T10:00:00.000Z Kept']);
  });

  it('refuses a directory or a named pipe as GW_CONNECTOR_CONFIG without blocking', async () => {
    // Guards against opening a FIFO named as the calendar and waiting forever for a writer.
    const dir = await mkdtemp(join(tmpdir(), 'calendar-test-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const fifo = join(dir, 'c.ics');
    execFileSync('mkfifo', [fifo]);
    for (const path of [dir, fifo]) {
      await expect(agenda(path, 'today', DEMO)).rejects.toMatchObject({
        code: 'GW_CONNECTOR_CONFIG', retryable: false,
      });
    }
  });
});

describe('nextMeeting', () => {
  it('finds the next timed event after now', async () => {
    const next = await nextMeeting(ICS, DEMO);
    expect(next?.summary).toBe('Stand-up');
    expect(next?.start.toISOString()).toBe('2026-12-08T09:30:00.000Z');
    expect(describeNextMeeting(next, DEMO))
      .toBe('Your next meeting is stand-up tomorrow at 9:30 AM.');
  });

  it('skips a meeting already under way and all-day events', async () => {
    const during = { now: new Date('2026-12-08T09:40:00Z'), timeZone: LONDON };
    expect((await nextMeeting(ICS, during))?.summary).toBe('Dentist');
    const wednesday = { now: new Date('2026-12-09T08:00:00Z'), timeZone: LONDON };
    const next = await nextMeeting(ICS, wednesday);
    expect(next?.summary).toBe('Late call with Boston');
    expect(describeNextMeeting(next, wednesday))
      .toBe('Your next meeting is late call with Boston tomorrow at 12:30 AM.');
  });

  it('names the weekday of a meeting further away', async () => {
    const friday = { now: new Date('2026-12-11T08:00:00Z'), timeZone: LONDON };
    const next = await nextMeeting(ICS, friday);
    expect(describeNextMeeting(next, friday))
      .toBe('Your next meeting is stand-up (moved) on Tuesday, December 15 at 2 PM.');
  });
});

describe('describeAgenda', () => {
  it('speaks the demo day as one sentence', async () => {
    const events = await agenda(ICS, 'tomorrow', DEMO);
    expect(describeAgenda(events, 'tomorrow', LONDON)).toBe('Tomorrow you have 3 events: '
      + 'stand-up at 9:30 AM, dentist at 3 PM and call with the New York office at 4 PM.');
  });

  it('says an empty day is empty', () => {
    expect(describeAgenda([], 'tomorrow', LONDON)).toBe('Tomorrow your calendar is empty.');
    expect(describeAgenda([], 'day_after_tomorrow', LONDON))
      .toBe('The day after tomorrow your calendar is empty.');
  });

  it('says all day for all-day events and keeps capitals of acronyms', () => {
    const day = (h: number): Date => new Date(Date.UTC(2026, 11, 9, h));
    const events: CalendarEvent[] = [
      { summary: 'Team offsite', start: day(0), end: day(24), allDay: true, recurring: false,
        location: null },
      { summary: 'ABC review', start: day(13), end: day(14), allDay: false, recurring: false,
        location: null },
    ];
    expect(describeAgenda(events, 'today', LONDON))
      .toBe('Today you have 2 events: team offsite all day and ABC review at 1 PM.');
  });
});
