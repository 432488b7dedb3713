import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { createConnectors } from '../../src/connectors/registry.js';
import { createLogger } from '../../src/log.js';

// Binance, Plaid and the car run their safe and elevated actions in the gateway process.
// Their critical and dangerous actions must never run there, even if something called the
// in-process implementation directly: each refuses before building a request.
const connectors = createConnectors(validateConfig({}, 'test'), '.');
const ctx = { now: new Date(), timeZone: 'UTC', principal: 'local',
  signal: new AbortController().signal, log: createLogger({ level: 'silent' }) };

describe('in-process connectors keep to their tiers', () => {
  it.each([
    ['binance', 'price', 'safe'], ['banking_plaid', 'balance', 'elevated'],
    ['smart_car_fleet', 'location', 'elevated'], ['binance', 'order', 'critical'],
    ['banking_plaid', 'payment', 'critical'], ['banking_plaid', 'transfer', 'critical'],
    ['smart_car_fleet', 'lock', 'critical'], ['smart_car_fleet', 'unlock', 'critical'],
    ['smart_car_fleet', 'set_temperature', 'dangerous'],
  ])('%s.%s keeps its manifest tier (%s)', (name, action, tier) => {
    const c = connectors.get(name);
    expect(c?.implementation).not.toBeNull();
    expect(c?.manifest.actions[action]?.tier).toBe(tier);
  });

  it.each([
    ['binance', 'order', { side: 'buy', asset: 'BTC', quantity: 1 }],
    ['banking_plaid', 'payment', { payee: 'landlord', amount: { amount: 5, currency: 'GBP' } }],
    ['banking_plaid', 'transfer', { account: 'savings', amount: { amount: 5, currency: 'USD' } }],
    ['smart_car_fleet', 'lock', {}], ['smart_car_fleet', 'unlock', {}],
    ['smart_car_fleet', 'set_temperature', { temperature: 21 }],
  ])('%s.%s refuses to run in the gateway process', async (name, action, input) => {
    await expect(connectors.get(name)?.implementation?.run(action, input, ctx))
      .rejects.toMatchObject({ code: 'GW_TIER_UNAVAILABLE' });
  });

  it('says banking and the car are not set up rather than calling anyone', async () => {
    await expect(connectors.get('banking_plaid')?.implementation?.run('balance', {}, ctx))
      .rejects.toMatchObject({ code: 'GW_CONNECTOR_CONFIG' });
    await expect(connectors.get('smart_car_fleet')?.implementation?.run('location', {}, ctx))
      .rejects.toMatchObject({ code: 'GW_CONNECTOR_CONFIG' });
  });
});
