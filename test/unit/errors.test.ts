import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, GatewayError } from '../../src/errors.js';

describe('error codes', () => {
  it('documents exactly the codes the code defines', () => {
    const doc = readFileSync('docs/errors.md', 'utf8');
    const documented = new Set([...doc.matchAll(/`(GW_[A-Z_]+)`/g)].map((m) => m[1]));
    expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('carries exit status, HTTP status and retryability from the table', () => {
    const e = new GatewayError('GW_ENGINE_TIMEOUT', 'slow');
    expect(e.retryable).toBe(true);
    expect(e.http).toBe(504);
    expect(new GatewayError('GW_CONFIG_INVALID', 'x').retryable).toBe(false);
  });
});
