/**
 * Breakers the dialogue's unit tests operate, configured as DNP3 points so that routing
 * (src/connectors/routing.ts) keeps them at scada_dnp3: a breaker with no configured point is
 * refused before its read-back.
 */
export const TEST_POINTS = {
  'breaker 7 at substation 12': { protocol: 'dnp3', host: '127.0.0.1', port: 20000, address: 12,
    index: 7, kind: 'crob' },
  'breaker 3 at substation 4': { protocol: 'dnp3', host: '127.0.0.1', port: 20000, address: 4,
    index: 3, kind: 'crob' },
};

/** The same points as a `[points]` table, for the configuration files e2e tests write. */
export const TEST_POINTS_TOML = Object.entries(TEST_POINTS).map(([name, p]) =>
  `[points."${name}"]\n` + Object.entries(p)
    .map(([k, v]) => `${k} = ${typeof v === 'string' ? `"${v}"` : String(v)}`).join('\n'))
  .join('\n');
