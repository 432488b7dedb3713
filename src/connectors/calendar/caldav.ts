/**
 * The calendar over CalDAV (RFC 4791) with tsdav: service discovery from the configured URL,
 * every calendar of the account that holds events, and a calendar-query per calendar for the
 * objects that touch a time range. Recurring events come back whole and are expanded by the
 * same code that expands the iCalendar file, so both sources answer alike.
 */
import { createDAVClient, type DAVCalendar } from 'tsdav';
import { readSecret } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import type { CalendarConfig } from './config.js';

/** The environment variable that holds the CalDAV password; it wins over password_file. */
export const PASSWORD_ENV = 'CALDAV_PASSWORD';

/** Largest number of objects read in one answer; a day's or a quarter's events are fewer. */
export const MAX_CALDAV_OBJECTS = 5_000;

export interface CalDavAccess {
  readonly url: string;
  readonly username: string;
  readonly password: string;
}

/**
 * The account from configuration, with its password read now (per call, so a rotated
 * password file is picked up). GW_CONNECTOR_CONFIG when something is missing.
 */
export function caldavAccess(config: CalendarConfig, baseDir: string): CalDavAccess {
  if (!config.username) {
    throw new GatewayError('GW_CONNECTOR_CONFIG',
      'The calendar is not set up: connectors.calendar.username is empty');
  }
  const password = readSecret(PASSWORD_ENV, config.password_file, baseDir);
  if (!password) {
    throw new GatewayError('GW_CONNECTOR_CONFIG', 'The calendar is not set up: set '
      + `${PASSWORD_ENV} or connectors.calendar.password_file`);
  }
  return { url: config.caldav_url, username: config.username, password };
}

/** The far side's failure as a spoken, secret-free error. */
function remoteError(err: unknown): GatewayError {
  const message = err instanceof Error ? err.message : String(err);
  if (/\b401\b|Invalid credentials/i.test(message)) {
    return new GatewayError('GW_REMOTE_AUTH',
      'The calendar server did not accept the user name and password', { cause: err });
  }
  if (/\b403\b/.test(message)) {
    return new GatewayError('GW_REMOTE_AUTH',
      'The calendar server does not let this account read the calendar', { cause: err });
  }
  return new GatewayError('GW_REMOTE_UNAVAILABLE', 'The calendar server could not be reached '
    + 'or gave an answer I could not read', { cause: err });
}

function holdsEvents(c: DAVCalendar): boolean {
  // A calendar that does not say which components it holds may hold events.
  return c.components === undefined || c.components.includes('VEVENT');
}

/**
 * The iCalendar texts of every event object that overlaps [from, to) in the account's
 * calendars. Throws GW_REMOTE_AUTH, GW_REMOTE_UNAVAILABLE or GW_CONNECTOR_FAILED.
 */
export async function fetchCalDavTexts(
  access: CalDavAccess,
  from: Date,
  to: Date,
  signal?: AbortSignal,
): Promise<string[]> {
  const fetchOptions = signal ? { signal } : {};
  let texts: string[];
  try {
    const client = await createDAVClient({
      serverUrl: access.url,
      credentials: { username: access.username, password: access.password },
      authMethod: 'Basic',
      defaultAccountType: 'caldav',
    });
    const calendars = (await client.fetchCalendars({ fetchOptions })).filter(holdsEvents);
    texts = [];
    for (const calendar of calendars) {
      const objects = await client.fetchCalendarObjects({
        calendar, fetchOptions,
        timeRange: { start: from.toISOString(), end: to.toISOString() },
      });
      for (const o of objects) {
        if (typeof o.data === 'string' && o.data.length > 0) texts.push(o.data);
      }
    }
  } catch (err) {
    throw remoteError(err);
  }
  if (texts.length > MAX_CALDAV_OBJECTS) {
    throw new GatewayError('GW_CONNECTOR_FAILED',
      `the calendar server returned ${texts.length} objects; the limit is ${MAX_CALDAV_OBJECTS}`);
  }
  return texts;
}
