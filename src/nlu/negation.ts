/**
 * Words that negate the command after them ("don't close breaker seven ..."). The grammar
 * accepts each of them before every command, so that the recogniser can hear a negated
 * command as one instead of forcing the nearest command onto it (it heard "don't close
 * breaker seven" as "open breaker seven"); the matcher answers such a sentence with
 * `not_understood` and reason `negated`. On their own, "don't", "do not" and "never mind"
 * stay answers to a confirmation prompt (system.deny in intents/en/system.yaml).
 * English only, like the number words.
 */
export const NEGATION_PREFIXES: readonly (readonly string[])[] = [
  ["don't"],
  ['do', 'not'],
  ['never'],
  ['never', 'mind'],
];

/** The words after each negation prefix that `toks` starts with, when any words follow. */
export function negatedRests(toks: readonly string[]): (readonly string[])[] {
  const rests: (readonly string[])[] = [];
  for (const prefix of NEGATION_PREFIXES) {
    const starts = prefix.every((w, i) => toks[i] === w);
    if (starts && toks.length > prefix.length) rests.push(toks.slice(prefix.length));
  }
  return rests;
}

/** The prefixes as JSGF alternatives: `don't | do not | never | never mind`. */
export function negationJsgf(): string {
  return NEGATION_PREFIXES.map((p) => p.join(' ')).join(' | ');
}
