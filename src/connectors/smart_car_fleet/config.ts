import { z } from 'zod';

const place = z.strictObject({
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  /** Within this many metres the car is said to be "at" the place. */
  radius_m: z.number().positive().max(100_000).default(150),
});

/**
 * `[connectors.smart_car_fleet]` of config/gateway.toml. The access token comes from
 * SMARTCAR_ACCESS_TOKEN or access_token_file, never from this table.
 */
export const smartcarConfigSchema = z.strictObject({
  /** Smartcar API origin (the SDK's SMARTCAR_API_ORIGIN); a test server in tests. */
  api_origin: z.url({ protocol: /^https?$/ }).default('https://api.smartcar.com'),
  /** The vehicle's Smartcar id; empty: not set up. */
  vehicle_id: z.string().max(64).regex(/^[A-Za-z0-9-]*$/, 'expected a Smartcar vehicle id')
    .default(''),
  /** Make in the path of make-specific endpoints (cabin climate), e.g. "tesla". */
  make: z.string().regex(/^[a-z]*$/, 'expected the make in lower case').default(''),
  /** File holding the OAuth access token; the environment variable SMARTCAR_ACCESS_TOKEN wins. */
  access_token_file: z.string().default(''),
  unit_system: z.enum(['metric', 'imperial']).default('metric'),
  /** Named places ("home", "office") said instead of coordinates when the car is there. */
  places: z.record(z.string().regex(/^[a-z][a-z0-9_ ]*$/), place).default({}),
  /** Resolve everything, send nothing: the reply says what would have been sent. */
  dry_run: z.boolean().default(false),
});

export type SmartcarConfig = z.infer<typeof smartcarConfigSchema>;
