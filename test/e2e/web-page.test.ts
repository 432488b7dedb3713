import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ServeHarness } from '../support/gateway-serve.js';

const CHROMIUM = '/usr/bin/chromium';
const FIXTURE = path.join(ROOT, 'fixtures/utterances/breaker_close_7_12__en-us_150.wav');
/** Generous bounds for a shared, noisy machine: these only stop a hung test. */
const WAIT_MS = 90_000;

describe('web page in Chromium, fixture WAV as the microphone', () => {
  const gw = new ServeHarness();
  let browser: Browser | null = null;
  let url = '';

  beforeAll(async () => {
    // ./scripts/setup.sh installs Debian's chromium; without it this test fails, not skips.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run ./scripts/setup.sh`);
    url = await gw.start();
    // Chromium's fake capture device was checked here with 48 kHz files.
    const wav = path.join(gw.dir, 'mic-48k.wav');
    execFileSync('sox', [FIXTURE, '-r', '48000', '-c', '1', '-b', '16', wav]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await gw.dispose();
  });

  it('shows the transcript and the confirmation, and the buttons answer it', async () => {
    if (!browser) throw new Error('no browser');
    const page = await browser.newPage();
    await page.goto(url);
    await page.fill('#token', gw.token('web'));
    await page.selectOption('#mode', 'wake_word');
    await page.click('#start');
    await page.locator('#confirmation').waitFor({ state: 'visible', timeout: WAIT_MS });
    await page.click('#stop');
    expect(await page.textContent('#transcript')).toBe('close breaker seven at substation twelve');
    expect(await page.textContent('#readback')).toMatch(/^Close breaker seven at substation twelve/);
    expect(await page.textContent('#confirm-tier')).toBe('critical');
    await page.click('#confirm');
    // Confirmed with the button; the microVM tier is not built, so the action is refused.
    const done = page.locator('#actions li', { hasText: 'critical): refused, refused' });
    await done.first().waitFor({ timeout: WAIT_MS });
    expect(await page.isHidden('#confirmation')).toBe(true);
    expect(await page.textContent('#status')).not.toMatch(/error/);
  }, 200_000);
});
