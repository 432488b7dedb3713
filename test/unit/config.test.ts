import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, readSecret } from '../../src/config/load.js';
import { GatewayError } from '../../src/errors.js';

function write(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-config-'));
  const file = path.join(dir, 'gateway.toml');
  writeFileSync(file, text);
  return file;
}

function failure(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

describe('configuration', () => {
  afterEach(() => {
    delete process.env.GW_TEST_SECRET;
  });

  it('accepts the block the original guide tells users to append', () => {
    const file = write(`security_mode = "paranoid"
enable_firecracker_sandbox = true
firecracker_socket_path = "/tmp/firecracker.socket"
critical_connectors = [
    "binance",
    "banking_plaid",
    "smart_car_fleet",
    "scada_dnp3",
    "scada_modbus_write",
    "ros2_dangerous_actions"
]
`);
    const { config } = loadConfig(file);
    expect(config.security_mode).toBe('paranoid');
    expect(config.critical_connectors).toContain('scada_dnp3');
    expect(config.wake.keyword).toBe('hey_jarvis');
  });

  it('loads the shipped config/gateway.toml', () => {
    const { config } = loadConfig('config/gateway.toml');
    expect(config.stt.engine).toBe('pocketsphinx');
    expect(config.tts.engine).toBe('espeak-ng');
  });

  it('refuses an unknown key, naming the file and the key', () => {
    const file = write('security_mod = "paranoid"\n');
    const err = failure(() => loadConfig(file));
    expect(err.code).toBe('GW_CONFIG_INVALID');
    expect(err.message).toContain(file);
    expect(err.message).toContain('security_mod');
  });

  it('refuses an unknown nested key with its full path', () => {
    const err = failure(() => loadConfig(write('[wake]\nthreshhold = 0.4\n')));
    expect(err.code).toBe('GW_CONFIG_INVALID');
    expect(err.message).toContain('wake.threshhold');
  });

  it('refuses a wrong type, saying what was expected', () => {
    const err = failure(() => loadConfig(write('enable_firecracker_sandbox = "yes"\n')));
    expect(err.code).toBe('GW_CONFIG_INVALID');
    expect(err.message).toContain('enable_firecracker_sandbox');
    expect(err.message).toMatch(/boolean/);
  });

  it('refuses a value outside its range', () => {
    const err = failure(() => loadConfig(write('[wake]\nthreshold = 1.5\n')));
    expect(err.code).toBe('GW_CONFIG_INVALID');
    expect(err.message).toContain('wake.threshold');
  });

  it('reports TOML syntax errors with their line', () => {
    const err = failure(() => loadConfig(write('security_mode = \n')));
    expect(err.code).toBe('GW_CONFIG_PARSE');
    expect(err.message).toMatch(/line 1/);
  });

  it('reports a missing explicit file', () => {
    expect(failure(() => loadConfig('/nonexistent/gateway.toml')).code).toBe('GW_CONFIG_NOT_FOUND');
  });

  it('freezes the validated configuration', () => {
    const { config } = loadConfig(write(''));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.wake)).toBe(true);
    expect(() => {
      (config as { security_mode: string }).security_mode = 'standard';
    }).toThrow();
  });

  it('reads a secret from the environment before the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-secret-'));
    writeFileSync(path.join(dir, 'key'), 'from-file\n');
    expect(readSecret('GW_TEST_SECRET', 'key', dir)).toBe('from-file');
    process.env.GW_TEST_SECRET = 'from-env';
    expect(readSecret('GW_TEST_SECRET', 'key', dir)).toBe('from-env');
    expect(readSecret('GW_TEST_SECRET_UNSET', '', dir)).toBeNull();
    expect(failure(() => readSecret('GW_TEST_SECRET_UNSET', 'missing', dir)).code)
      .toBe('GW_SECRET_UNREADABLE');
  });
});
