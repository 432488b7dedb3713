import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { GatewayError } from '../../errors.js';

/** Largest iCalendar file read; a personal calendar export is far smaller. */
export const MAX_ICS_BYTES = 8 * 1024 * 1024;

/** An iCalendar stream starts with this content line (RFC 5545, 3.4; names ignore case). */
const ICS_START = /^BEGIN:VCALENDAR\r?(?:\n|$)/i;

function configError(message: string, cause?: unknown): GatewayError {
  return new GatewayError('GW_CONNECTOR_CONFIG', message, { cause });
}

/**
 * The text of the calendar file. A missing path, or one that is not a regular file, is a
 * setting to fix (GW_CONNECTOR_CONFIG, not retried); a file over MAX_ICS_BYTES or one that
 * is not an iCalendar is GW_CONNECTOR_FAILED.
 */
export async function readCalendarText(icsPath: string): Promise<string> {
  let size: number;
  try {
    const info = await stat(icsPath);
    if (!info.isFile()) throw configError(`calendar path ${icsPath} is not a regular file`);
    size = info.size;
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw configError(`no calendar file at ${icsPath}`, err);
    }
    throw configError(`cannot read calendar file ${icsPath}: ${code ?? 'error'}`, err);
  }
  if (size > MAX_ICS_BYTES) {
    throw new GatewayError('GW_CONNECTOR_FAILED',
      `calendar file ${icsPath} is ${size} bytes; the limit is ${MAX_ICS_BYTES}`);
  }
  const text = await readSized(icsPath, size);
  // A byte order mark and blank lines before the first content line are tolerated.
  if (!ICS_START.test(text.replace(/^\uFEFF/, '').trimStart())) {
    throw new GatewayError('GW_CONNECTOR_FAILED',
      `calendar file ${icsPath} is not an iCalendar file (no BEGIN:VCALENDAR at its start)`);
  }
  return text;
}

/** Reads the `size` bytes measured, refusing a file that grew meanwhile. */
async function readSized(icsPath: string, size: number): Promise<string> {
  let handle;
  try {
    // O_NONBLOCK: should a pipe replace the file after the check, opening it cannot hang.
    handle = await open(icsPath, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw configError(`cannot read calendar file ${icsPath}: ${code ?? 'error'}`, err);
  }
  try {
    if (!(await handle.stat()).isFile()) {
      throw configError(`calendar path ${icsPath} is not a regular file`);
    }
    // One byte more than measured, to notice a file that is being written to.
    const buf = Buffer.alloc(size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > size) {
        throw new GatewayError('GW_CONNECTOR_FAILED',
          `calendar file ${icsPath} changed while it was read`);
      }
    }
    return buf.toString('utf8', 0, got);
  } finally {
    await handle.close();
  }
}
