/**
 * The guest image's package closure (src/isolation/vm/packages.ts) on a synthetic project:
 * Node's resolution order (nested node_modules first, then upwards), optional dependencies
 * followed only when installed, native addons (and packages needing them) left out and
 * named, TypeScript and source maps not copied, and a sorted, repeatable result.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyClosure, describeClosure, guestClosure } from '../../src/isolation/vm/packages.js';

let root: string;

function pkg(rel: string, json: Record<string, unknown>, files: Record<string, string> = {}):
void {
  const dir = path.join(root, 'node_modules', rel);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(json));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
}

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'gw-guest-pkgs-'));
  pkg('sdk', { name: 'sdk', version: '1.0.0', dependencies: { http: '^1', util: '^2' },
    optionalDependencies: { serial: '^1', absent: '^1' } },
  { 'index.js': 'x', 'index.d.ts': 'x', 'index.js.map': 'x', 'src/a.ts': 'x', 'lib/b.js': 'x' });
  pkg('sdk/node_modules/util', { name: 'util', version: '2.0.0' }, { 'u.js': 'x' });
  pkg('util', { name: 'util', version: '1.0.0' }, { 'old.js': 'x' });
  pkg('http', { name: 'http', version: '1.0.0', dependencies: { util: '^1' } }, { 'h.js': 'x' });
  pkg('serial', { name: 'serial', version: '1.0.0', dependencies: { '@s/bindings': '^1' } });
  pkg('@s/bindings', { name: '@s/bindings', version: '1.0.0' },
    { 'binding.gyp': '{}', 'prebuilds/x.node': 'ELF' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('guest package closure', () => {
  it('resolves like Node, skips native packages and names them', () => {
    const c = guestClosure(root, ['sdk']);
    expect(c.packages.map((p) => `${p.rel}@${p.version}`))
      .toEqual(['http@1.0.0', 'sdk@1.0.0', 'sdk/node_modules/util@2.0.0', 'util@1.0.0']);
    expect(c.skipped).toEqual([{ rel: 'serial',
      reason: 'needs @s/bindings (native addon)' }]);
    expect(c.packages.find((p) => p.rel === 'sdk')?.files)
      .toEqual(['index.js', 'lib/b.js', 'package.json']);
    expect(describeClosure(c)).toBe('guest packages: 4 copied; skipped: serial: needs ' +
      '@s/bindings (native addon)');
    expect(guestClosure(root, ['sdk'])).toEqual(c);
  });

  it('copies the closure with its nested layout', () => {
    const dest = path.join(root, 'out');
    const n = copyClosure(root, guestClosure(root, ['sdk']), dest);
    expect(n).toBe(9);
    expect(readdirSync(path.join(dest, 'sdk', 'node_modules'))).toEqual(['util']);
    expect(readdirSync(dest).sort()).toEqual(['http', 'sdk', 'util']);
  });

  it('refuses a missing root or required dependency', () => {
    expect(() => guestClosure(root, ['nope'])).toThrow(/guest package nope is not installed/);
    pkg('broken', { name: 'broken', dependencies: { gone: '^1' } });
    expect(() => guestClosure(root, ['broken'])).toThrow(/gone \(needed by broken\)/);
  });
});
