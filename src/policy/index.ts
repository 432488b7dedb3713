/** Policy per principal: what the dialogue needs to refuse before it asks to confirm. */
export {
  evaluatePolicy, recordSpend, patternMatches, POLICY_RULES,
  type PolicyContext, type PolicyDecision, type PolicyRefusal, type PolicyRequest,
  type PolicyRule,
} from './evaluate.js';
export { InMemorySpendLedger, type SpendEntry, type SpendLedger } from './ledger.js';
export { policySchema, type PolicyConfig, type PrincipalPolicy } from './schema.js';
export { localClock } from './time.js';
