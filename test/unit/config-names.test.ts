import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { checkConfigNames } from '../../src/connectors/config-names.js';
import { MANIFESTS } from '../../src/connectors/manifests.js';

// A misspelt connector or action in configuration would switch a protection off silently.
function check(toml: Record<string, unknown>): () => void {
  return () => checkConfigNames(validateConfig(toml, 'test'), MANIFESTS);
}

describe('names in configuration', () => {
  it('accepts real connectors and patterns that match an action', () => {
    expect(check({
      critical_connectors: ['messaging'],
      dialogue: { second_factor: { connectors: { binance: 'pin' } } },
      policy: { principals: { local: { allow: ['*'], deny: ['scada_dnp3.*', '*.send'],
        caps: { 'banking_plaid.payment': { per_action: { USD: 5 } } } } } },
    })).not.toThrow();
  });

  it('refuses a connector that does not exist, naming the key', () => {
    expect(check({ dialogue: { second_factor: { connectors: { binanse: 'pin' } } } }))
      .toThrow(/dialogue\.second_factor\.connectors\.binanse: "binanse" is no connector/);
    expect(check({ critical_connectors: ['scada'] })).toThrow(/critical_connectors\[0\]/);
  });

  it('refuses a policy pattern that matches no action', () => {
    expect(check({ policy: { principals: { local: { allow: ['*'], deny: ['scada.*'] } } } }))
      .toThrow(/policy\.principals\.local\.deny\[0\]: "scada\.\*" matches no connector action/);
    expect(check({ policy: { principals: { ops: { allow: ['*'],
      caps: { 'banking_plaid.pay': { per_action: { USD: 5 } } } } } } })).toThrow(/caps/);
  });
});
