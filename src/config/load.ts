import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { GatewayError } from '../errors.js';
import { configSchema, type GatewayConfig } from './schema.js';

export type { GatewayConfig };

/** The gateway's own folder: defaults such as fixtures/calendar.ics are relative to it. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface LoadedConfig {
  readonly config: Readonly<GatewayConfig>;
  /** Absolute path of the file read, or null when defaults were used. */
  readonly file: string | null;
  /** Directory relative paths in the file are resolved against. */
  readonly baseDir: string;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length ? issue.path.join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${issue.path.join('.')}.` : '';
    const keys = issue.keys.map((k) => `${where}${k}`).join(', ');
    return `unknown key ${keys}`;
  }
  return `key ${key}: ${issue.message}`;
}

/** Validates a parsed TOML document; throws GW_CONFIG_INVALID naming the file and key. */
export function validateConfig(doc: unknown, file: string): Readonly<GatewayConfig> {
  const result = configSchema.safeParse(doc);
  if (!result.success) {
    const lines = result.error.issues.map(describeIssue);
    throw new GatewayError('GW_CONFIG_INVALID', `${file}: ${lines.join('; ')}`);
  }
  return deepFreeze(result.data);
}

/**
 * Reads and validates the configuration once. With no explicit path, uses
 * config/gateway.toml in the working directory if it exists, defaults otherwise.
 */
export function loadConfig(explicitPath?: string): LoadedConfig {
  const candidate = explicitPath ?? path.resolve('config/gateway.toml');
  let text: string;
  try {
    text = readFileSync(candidate, 'utf8');
  } catch (err) {
    if (explicitPath === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { config: validateConfig({}, '(defaults)'), file: null, baseDir: PACKAGE_ROOT };
    }
    throw new GatewayError('GW_CONFIG_NOT_FOUND', `cannot read configuration ${candidate}`, {
      cause: err,
    });
  }
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch (err) {
    const where = err instanceof TomlError ? ` at line ${err.line}, column ${err.column}` : '';
    const first = err instanceof Error ? (err.message.split('\n')[0] ?? '') : '';
    throw new GatewayError('GW_CONFIG_PARSE', `${candidate}${where}: ${first}`, { cause: err });
  }
  const file = path.resolve(candidate);
  // Relative paths in the file are relative to the project root (the parent of config/).
  const dir = path.dirname(file);
  const baseDir = path.basename(dir) === 'config' ? path.dirname(dir) : dir;
  return { config: validateConfig(doc, file), file, baseDir };
}

/** Reads a secret from the environment first, then from a file; never logs it. */
export function readSecret(envName: string, file: string, baseDir: string): string | null {
  const fromEnv = process.env[envName]?.trim();
  if (fromEnv) {
    if (!/^[\x21-\x7e]+$/.test(fromEnv)) {
      throw new GatewayError('GW_SECRET_UNREADABLE',
        `${envName} must hold one key on one line, with no spaces`);
    }
    return fromEnv;
  }
  if (!file) return null;
  const full = path.resolve(baseDir, file);
  let value: string;
  try {
    value = readFileSync(full, 'utf8').trim();
  } catch (err) {
    throw new GatewayError('GW_SECRET_UNREADABLE', `cannot read the secret file ${full}`, {
      cause: err,
    });
  }
  // One printable token: anything else would end up in a header or an error message.
  if (value && !/^[\x21-\x7e]+$/.test(value)) {
    throw new GatewayError('GW_SECRET_UNREADABLE',
      `the secret file ${full} must hold one key on one line, with no spaces`);
  }
  return value || null;
}
