import { z } from 'zod';
import { sendOutput } from './messaging/schemas.js';
import {
  writeInput as modbusWriteInput, writeOutput as modbusWriteOutput,
} from './scada_modbus_write/schemas.js';
import type { ConnectorManifest } from './types.js';

/**
 * Manifests of the connectors the intents refer to. A manifest is the
 * connector's declaration of its actions and tiers; configuration can raise a
 * tier (critical_connectors) but never lower it. The input schemas take the
 * slots of the matching intents (intents/en/*.yaml) as the matcher yields them.
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

/** Canonical values of intent lists: lower case words joined by underscores. */
const canonical = z.string().regex(/^[a-z][a-z0-9_]*$/);

export const smartCarFleetManifest: ConnectorManifest = {
  name: 'smart_car_fleet',
  description: 'Locks, unlocks, locates and heats or cools a car of the fleet.',
  actions: {
    lock: {
      tier: 'critical',
      description: 'lock the car',
      input: z.strictObject({}),
    },
    unlock: {
      // Opens the car to anyone standing next to it.
      tier: 'critical',
      description: 'unlock the car',
      input: z.strictObject({}),
    },
    location: {
      // Where the car is tells where its driver is: personal data.
      tier: 'elevated',
      description: 'where the car is',
      input: z.strictObject({}),
    },
    set_temperature: {
      tier: 'dangerous',
      description: 'set the cabin temperature, in degrees Celsius',
      input: z.strictObject({ temperature: z.number().int().min(16).max(28) }),
    },
  },
};

export const ros2Manifest: ConnectorManifest = {
  name: 'ros2_dangerous_actions',
  description: 'Sends a ROS 2 robot to a named place, and stops it.',
  actions: {
    move_to: {
      tier: 'critical',
      description: 'drive the robot to a named place',
      input: z.strictObject({
        place: z.enum(['kitchen', 'loading_dock', 'charging_station']),
      }),
    },
    stop: {
      // In process: a stop must not wait seconds for a microVM while the robot moves, and it
      // only takes motion away (ros2_dangerous_actions/connector.ts). Never confirmed.
      tier: 'elevated',
      description: 'stop the robot now',
      input: z.strictObject({}),
      emergencyStop: true,
    },
  },
};

/** A Modbus point named in speech; configuration ([points]) gives its device and number. */
const modbusPoint = canonical;

export const scadaModbusManifest: ConnectorManifest = {
  name: 'scada_modbus_write',
  description: 'Writes named Modbus coils and holding registers, and reads points.',
  actions: {
    write: {
      tier: 'critical',
      description: 'switch a coil on or off, or set a holding register',
      input: z.union([
        z.strictObject({ point: modbusPoint, state: z.enum(['on', 'off']) }),
        z.strictObject({ point: modbusPoint, value: z.number().int().min(0).max(65_535) }),
      ]),
    },
    read: {
      tier: 'safe',
      description: 'read a coil or register',
      input: z.strictObject({ point: modbusPoint }),
    },
    write_point: {
      // Where a breaker command goes when its [points] entry says protocol = "modbus"
      // (src/connectors/routing.ts): the point comes resolved; written once, read back.
      tier: 'critical',
      description: 'write a configured coil or holding register and read it back',
      input: modbusWriteInput,
      output: modbusWriteOutput,
    },
  },
  // No fixed endpoint: the plan (scada_modbus_write/plan.ts) names the configured points'.
};

/**
 * Money as the template language yields it. The exchange, banking and messaging schemas
 * take the slots of intents/en/{exchange,banking,messaging}.yaml; each connector may narrow
 * its own input further when it is built.
 */
const money = z.strictObject({
  amount: z.number().positive(),
  currency: z.enum(['USD', 'GBP', 'EUR']),
});
const assetSymbol = z.string().regex(/^[A-Za-z0-9_]{1,20}$/);
const listValue = z.string().min(1).max(100);

export const binanceManifest: ConnectorManifest = {
  name: 'binance',
  description: 'Reads prices and places orders on the Binance exchange.',
  actions: {
    price: {
      tier: 'safe',
      description: 'the price of an asset',
      input: z.strictObject({ asset: assetSymbol }),
    },
    order: {
      tier: 'critical',
      description: 'buy or sell an asset, for an amount of money or a quantity of the asset',
      input: z.strictObject({
        side: z.enum(['buy', 'sell']),
        asset: assetSymbol,
        amount: money.optional(),
        quantity: z.number().positive().optional(),
      }).refine((o) => (o.amount === undefined) !== (o.quantity === undefined),
        'an order names either an amount of money or a quantity, not both'),
    },
  },
};

export const bankingPlaidManifest: ConnectorManifest = {
  name: 'banking_plaid',
  description: 'Reads balances and moves money through Plaid.',
  actions: {
    balance: {
      // An account balance is personal data.
      tier: 'elevated',
      description: 'the balance of an account',
      input: z.strictObject({ account: listValue.optional() }),
    },
    payment: {
      tier: 'critical',
      description: 'pay a payee',
      input: z.strictObject({ payee: listValue, amount: money }),
    },
    transfer: {
      tier: 'critical',
      description: 'move money to one of the user\'s accounts',
      input: z.strictObject({ account: listValue, amount: money }),
    },
  },
};

export const messagingManifest: ConnectorManifest = {
  name: 'messaging',
  description: 'Sends a text message to a contact.',
  actions: {
    send: {
      // Speaks for the user to someone else: read back before it goes.
      tier: 'dangerous',
      description: 'send a message to a contact',
      input: z.strictObject({ contact: listValue, body: z.string().min(1).max(1_000) }),
      output: sendOutput,
    },
  },
  // The default WhatsApp Cloud API origin; the executor's plan (messaging/plan.ts) derives
  // the endpoint from connectors.messaging.base_url instead when that is set.
  egress: [{ host: 'graph.facebook.com', port: 443 }],
  secrets: ['whatsapp_token'],
};

/** Every manifest of this build, in registry order. */
export const MANIFESTS: readonly ConnectorManifest[] = [
  calendarManifest,
  scadaDnp3Manifest,
  smartCarFleetManifest,
  ros2Manifest,
  scadaModbusManifest,
  binanceManifest,
  bankingPlaidManifest,
  messagingManifest,
];
