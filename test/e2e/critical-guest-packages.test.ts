/**
 * The guest image carries the SDKs' dependency closure (src/isolation/vm/packages.ts): a
 * test-only connector in a real microVM boot imports plaid, smartcar, modbus-serial and
 * roslib from /opt/gw/node_modules; serialport (native bindings) is not in the image.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { ImageManifest } from '../../src/isolation/vm/image.js';
import { runInVm } from '../../src/isolation/vm/run.js';
import { BOOT_DEADLINE_MS, criticalProject, type CriticalProject } from './critical-support.js';

let project: CriticalProject;

beforeAll(async () => {
  project = await criticalProject('pkgs');
}, 900_000);

afterAll(() => project?.cleanup());

describe('guest packages in the microVM image', () => {
  it('lists the closure in the signed manifest, without native packages', () => {
    const manifest = JSON.parse(readFileSync(path.join(project.imageDir, 'manifest.json'),
      'utf8')) as ImageManifest;
    const files = manifest.files.map((f) => f.path);
    for (const p of ['plaid', 'smartcar', 'modbus-serial', 'roslib', 'axios', 'lodash']) {
      expect(files, p).toContain(`/opt/gw/node_modules/${p}/package.json`);
    }
    expect(files.filter((f) => f.includes('serialport'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.node') || f.endsWith('.d.ts'))).toEqual([]);
  });

  it('imports plaid, smartcar, modbus-serial and roslib inside a real boot', async () => {
    const r = await runInVm({
      connector: 'guestpkg', action: 'load', input: {}, endpoints: [], settings: {},
      secrets: {}, now: new Date(), timeZone: 'UTC', principal: 'tester',
      signal: new AbortController().signal, imageDir: project.imageDir,
      publicKey: project.publicKey, bootDeadlineMs: BOOT_DEADLINE_MS, actionDeadlineMs: 120_000,
      log: createLogger({ level: 'silent' }),
    });
    expect(r.error, r.console).toBeUndefined();
    expect(r.outcome).toBe('succeeded');
    const data = r.data as { loaded: Record<string, unknown>; serialport: string;
      plaidApi: string };
    expect(data.plaidApi).toBe('function');
    expect(data.loaded.plaid).toEqual(['PlaidApi', 'Configuration']);
    expect(data.loaded.smartcar).toEqual(['Vehicle', 'AuthClient']);
    expect(data.loaded['modbus-serial']).toEqual(['TcpPort']);
    expect(data.loaded.roslib).toEqual(['Ros', 'Topic']);
    expect(data.serialport).toBe('ERR_MODULE_NOT_FOUND');
  }, 900_000);
});
