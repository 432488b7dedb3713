import { z } from 'zod';
import type { ConnectorManifest } from './types.js';

/**
 * Manifests of the connectors the intents refer to. A manifest is the
 * connector's declaration of its actions and tiers; configuration can raise a
 * tier (critical_connectors) but never lower it.
 */
export const calendarManifest: ConnectorManifest = {
  name: 'calendar',
  description: 'Reads an iCalendar file: the agenda for a day and the next meeting.',
  actions: {
    agenda: {
      tier: 'safe',
      description: 'events on a day',
      input: z.strictObject({ day: z.enum(['today', 'tomorrow', 'day_after_tomorrow']) }),
    },
    next_meeting: {
      tier: 'safe',
      description: 'the next event from now',
      input: z.strictObject({}),
    },
  },
};

export const scadaDnp3Manifest: ConnectorManifest = {
  name: 'scada_dnp3',
  description: 'Operates and reads breakers over DNP3.',
  actions: {
    operate: {
      tier: 'critical',
      description: 'open or close a breaker',
      input: z.strictObject({
        operation: z.enum(['open', 'close']),
        breaker: z.number().int().min(1),
        substation: z.number().int().min(1),
      }),
    },
    status: {
      tier: 'safe',
      description: 'read whether a breaker is open or closed',
      input: z.strictObject({
        breaker: z.number().int().min(1),
        substation: z.number().int().min(1),
      }),
    },
  },
};
