import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';

function code(doc: unknown): string | null {
  try {
    validateConfig(doc, 'test.toml');
    return null;
  } catch (err) {
    return (err as { code?: string }).code ?? 'thrown';
  }
}

describe('connector tables of the configuration', () => {
  it('defaults to the calendar file and to the public API origins', () => {
    const c = validateConfig({}, 'test.toml').connectors;
    expect(c.calendar.caldav_url).toBe('');
    expect(c.binance).toMatchObject({ base_url: 'https://api.binance.com', quote_asset: 'USDT',
      recv_window_ms: 5000, dry_run: false });
    expect(c.banking_plaid.base_url).toBe('https://production.plaid.com');
    expect(c.smart_car_fleet.api_origin).toBe('https://api.smartcar.com');
  });

  it('refuses credentials in the CalDAV URL, and a URL that is not http(s)', () => {
    const cal = (caldav_url: string) => ({ connectors: { calendar: { caldav_url } } });
    expect(code(cal('http://127.0.0.1:5232/'))).toBeNull();
    expect(code(cal('http://alice:pw@127.0.0.1:5232/'))).toBe('GW_CONFIG_INVALID');
    expect(code(cal('ftp://127.0.0.1/'))).toBe('GW_CONFIG_INVALID');
  });

  it('refuses keys in the wrong place or out of range', () => {
    expect(code({ connectors: { binance: { recv_window_ms: 60_001 } } })).toBe('GW_CONFIG_INVALID');
    expect(code({ connectors: { binance: { api_key: 'x' } } })).toBe('GW_CONFIG_INVALID');
    expect(code({ connectors: { banking_plaid: { secret: 'x' } } })).toBe('GW_CONFIG_INVALID');
    expect(code({ connectors: { smart_car_fleet: { vehicle_id: '../x' } } }))
      .toBe('GW_CONFIG_INVALID');
    expect(code({ connectors: { smart_car_fleet: { places: { home: { latitude: 91,
      longitude: 0 } } } } })).toBe('GW_CONFIG_INVALID');
  });
});
