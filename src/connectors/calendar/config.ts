import { z } from 'zod';

/** A CalDAV URL: http(s), and no user name or password in it (those go in their own keys). */
const caldavUrl = z.url({ protocol: /^https?$/ })
  .refine((u) => { const p = new URL(u); return p.username === '' && p.password === ''; },
    'put the user name in username and the password in password_file, not in the URL');

/**
 * `[connectors.calendar]` of config/gateway.toml. The iCalendar file is the default source;
 * a non-empty caldav_url reads the account's calendars over CalDAV instead. The password
 * comes from CALDAV_PASSWORD or password_file, never from this table.
 */
export const calendarConfigSchema = z.strictObject({
  ics_path: z.string().default('fixtures/calendar.ics'),
  /** CalDAV server (service discovery starts here); empty: read ics_path. */
  caldav_url: z.union([z.literal(''), caldavUrl]).default(''),
  username: z.string().max(256).default(''),
  /** File holding the CalDAV password; the environment variable CALDAV_PASSWORD wins. */
  password_file: z.string().default(''),
  /** CalDAV only: resolve the account and its password, ask the server nothing. */
  dry_run: z.boolean().default(false),
});

export type CalendarConfig = z.infer<typeof calendarConfigSchema>;
