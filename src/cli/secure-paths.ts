import path from 'node:path';
import { loadConfig } from '../config/load.js';

/**
 * Where the key directory, the state database and the audit log are: the configuration's
 * `keys_dir`, `state_path` and `audit_path`, relative to the project folder like every
 * path in it. Command-line overrides are relative to the working directory instead.
 */
export interface SecurePaths {
  readonly baseDir: string;
  readonly keysDir: string;
  readonly statePath: string;
  readonly auditPath: string;
}

export function securePaths(configFile: string | undefined,
  overrides: { keys?: string; state?: string; audit?: string } = {}): SecurePaths {
  const { config, baseDir } = loadConfig(configFile);
  const pick = (flag: string | undefined, key: string): string =>
    flag !== undefined ? path.resolve(flag) : path.resolve(baseDir, key);
  return {
    baseDir,
    keysDir: pick(overrides.keys, config.keys_dir),
    statePath: pick(overrides.state, config.state_path),
    auditPath: pick(overrides.audit, config.audit_path),
  };
}
