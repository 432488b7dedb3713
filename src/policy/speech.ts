/**
 * Words for policy refusals: the reply names the rule in plain speech ("your cap of five
 * hundred dollars per payment"), so that the person knows what to change or whom to ask.
 */
import { MANIFESTS } from '../connectors/manifests.js';
import { numberToWords } from '../nlu/numbers.js';
import { CURRENCY_WORDS } from '../nlu/quantity.js';
import type { Currency } from '../nlu/types.js';

const DESCRIPTIONS = new Map<string, string>(MANIFESTS.flatMap((m) =>
  Object.entries(m.actions).map(([action, spec]) => [`${m.name}.${action}`, spec.description])));

/**
 * What the action does, as a verb phrase after "to": "pay a payee". Only the manifest's
 * first clause, so the sentence stays short enough to say.
 */
export function actionPhrase(connector: string, action: string): string {
  const description = DESCRIPTIONS.get(`${connector}.${action}`);
  if (!description) return `use ${words(action)} of ${words(connector)}`;
  return description.split(',')[0] ?? description;
}

/** `night_shift` -> `night shift`: canonical list values said as words. */
export function words(canonical: string): string {
  return canonical.replace(/_/g, ' ');
}

/** The plural name of a currency: "dollars", "pounds", "euros". */
export function currencyName(currency: Currency): string {
  return CURRENCY_WORDS[currency].words[1] ?? currency;
}

/** "HH:MM" said as a time of day: "ten p m", "six thirty a m", "midnight", "noon". */
export function clockWords(hhmm: string): string {
  const [h = 0, m = 0] = hhmm.split(':').map(Number);
  if ((h === 0 || h === 24) && m === 0) return 'midnight';
  if (h === 12 && m === 0) return 'noon';
  const hour12 = h % 12 === 0 ? 12 : h % 12;
  const minutes = m === 0 ? '' : m < 10 ? ` oh ${numberToWords(m)}` : ` ${numberToWords(m)}`;
  return `${numberToWords(hour12)}${minutes} ${h < 12 ? 'a m' : 'p m'}`;
}

/** The sentence every refusal starts with, so that a refusal always sounds like one. */
export function refusedBecause(reason: string): string {
  return `I did not do it: ${reason}.`;
}
