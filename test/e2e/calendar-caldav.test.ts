import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnReport } from '../../src/dialogue/report.js';
import { RadicaleServer } from '../support/radicale.js';
import { ROOT } from './harness.js';

// The calendar read over CalDAV from a real Radicale (Debian) on loopback, through the
// gateway's CLI: discovery, every calendar of the account, recurring events expanded.
const run = promisify(execFile);
const GATEWAY = path.join(ROOT, 'bin/gateway.js');
const NOW = '2026-12-07T08:00:00Z'; // a Monday; London is on UTC in December
const USER = 'alice';
const PASSWORD = 'radicale-pw-5d1e';

function vevent(uid: string, lines: readonly string[]): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//gateway tests//EN', 'BEGIN:VEVENT',
    `UID:${uid}`, 'DTSTAMP:20261101T000000Z', ...lines, 'END:VEVENT', 'END:VCALENDAR', '']
    .join('\r\n');
}

let server: RadicaleServer;
let dir: string;

beforeAll(async () => {
  server = await RadicaleServer.start({
    user: USER, password: PASSWORD,
    calendars: [
      { name: 'work', displayName: 'Work', items: {
        'budget.ics': vevent('budget-1', ['DTSTART:20261208T100000Z', 'DURATION:PT1H',
          'SUMMARY:Budget review']),
        'sync.ics': vevent('sync-1', ['DTSTART:20261103T140000Z', 'DURATION:PT30M',
          'RRULE:FREQ=WEEKLY;BYDAY=TU', 'SUMMARY:Radicale sync']),
        'coffee.ics': vevent('coffee-1', ['DTSTART:20261207T110000Z', 'DURATION:PT30M',
          'SUMMARY:Coffee with Ana']),
        'old.ics': vevent('old-1', ['DTSTART:20250101T090000Z', 'DURATION:PT1H',
          'SUMMARY:Long gone']),
      } },
      { name: 'personal', displayName: 'Personal', items: {
        'dentist.ics': vevent('dentist-1', ['DTSTART:20261208T163000Z', 'DURATION:PT1H',
          'SUMMARY:Dentist']),
      } },
    ],
  });
  dir = await mkdtemp(path.join(tmpdir(), 'gw-caldav-'));
  await writeFile(path.join(dir, 'password'), `${PASSWORD}\n`);
  await writeFile(path.join(dir, 'wrong'), 'not-the-password\n');
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function configWith(name: string, url: string, passwordFile: string,
  extra: readonly string[] = []): Promise<string> {
  const file = path.join(dir, `${name}.toml`);
  await writeFile(file, ['[connectors.calendar]', `caldav_url = "${url}"`,
    `username = "${USER}"`, `password_file = "${passwordFile}"`, ...extra].join('\n'));
  return file;
}

/** `gateway say --json`; a failed action exits non-zero, and its report is still read. */
async function say(config: string, text: string): Promise<{ report: TurnReport; log: string }> {
  const args = [GATEWAY, 'say', '--json', '-c', config, '--now', NOW, '--out', dir, text];
  const env: NodeJS.ProcessEnv = { ...process.env, TZ: 'Europe/London' };
  delete env.CALDAV_PASSWORD;
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run(process.execPath, args, { cwd: ROOT, env }));
  } catch (err) {
    ({ stdout, stderr } = err as { stdout: string; stderr: string });
  }
  const report = JSON.parse(stdout.trim().split('\n')[0] ?? 'null') as TurnReport;
  return { report, log: stderr };
}

describe('calendar over CalDAV (Radicale)', () => {
  it('says tomorrow\'s agenda from two calendars, with a weekly event expanded', async () => {
    const config = await configWith('ok', server.baseUrl, path.join(dir, 'password'));
    const { report, log } = await say(config, "what's on my calendar tomorrow");
    expect(report, server.log).toMatchObject({ action: 'calendar.agenda', tier: 'safe',
      outcome: 'succeeded' });
    expect(report.reply?.text).toBe('Tomorrow you have 3 events: budget review at 10 AM, '
      + 'radicale sync at 2 PM and dentist at 4:30 PM.');
    // Neither the password nor an event title reaches the log at default settings.
    expect(log).not.toContain(PASSWORD);
    expect(log).not.toMatch(/budget|dentist|radicale sync/i);
  });

  it('says the next meeting', async () => {
    const config = await configWith('next', server.baseUrl, path.join(dir, 'password'));
    const { report } = await say(config, 'what is my next meeting');
    expect(report).toMatchObject({ action: 'calendar.next_meeting', outcome: 'succeeded' });
    expect(report.reply?.text).toBe('Your next meeting is coffee with Ana today at 11 AM.');
  });

  it('says that the server refused a wrong password, and never repeats it', async () => {
    const config = await configWith('wrong', server.baseUrl, path.join(dir, 'wrong'));
    const { report, log } = await say(config, 'what is my next meeting');
    expect(report).toMatchObject({ outcome: 'failed', error: { code: 'GW_REMOTE_AUTH' } });
    expect(report.reply?.text).toBe('That did not work: the calendar server did not accept '
      + 'the user name and password.');
    expect(JSON.stringify(report) + log).not.toContain('not-the-password');
  });

  it('says that the server cannot be reached when nothing listens', async () => {
    const config = await configWith('down', 'http://127.0.0.1:9/', path.join(dir, 'password'));
    const { report } = await say(config, "what's on my calendar today");
    expect(report).toMatchObject({ outcome: 'failed', error: { code: 'GW_REMOTE_UNAVAILABLE' } });
  });

  it('in dry-run mode resolves the account and asks the server nothing', async () => {
    const config = await configWith('dry', 'http://127.0.0.1:9/', path.join(dir, 'password'),
      ['dry_run = true']);
    const { report } = await say(config, 'what is my next meeting');
    expect(report).toMatchObject({ outcome: 'succeeded' });
    expect(report.reply?.text).toBe('Dry run: I would ask the calendar server for the next '
      + 'meeting.');
  });

  it('says that the calendar is not set up when no password is given', async () => {
    const config = await configWith('nopw', server.baseUrl, '');
    const { report } = await say(config, "what's on my calendar today");
    expect(report).toMatchObject({ outcome: 'failed', error: { code: 'GW_CONNECTOR_CONFIG' } });
    expect(report.reply?.text).toMatch(/^That did not work: the calendar is not set up/);
  });
});
