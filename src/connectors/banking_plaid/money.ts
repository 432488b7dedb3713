/**
 * Request code for the critical banking actions, a transfer to one of the account holder's
 * accounts (Plaid Transfer) and a payment to a payee (Payment Initiation, under a standing
 * consent). Both carry Plaid's idempotency key, derived from the gateway action's key, so a
 * retried or replayed request moves money once. The gateway never runs these in process:
 * they run in the critical tier's microVM (worker.ts); tests also call them directly.
 */
import {
  ACHClass, TransferNetwork, TransferType, type PaymentAmountCurrency, type PlaidApi,
} from 'plaid';
import { GatewayError } from '../../errors.js';
import { plaidApi, plaidError, plaidIdempotencyKey, type PlaidCredentials } from './api.js';
import type { PlaidConfig } from './config.js';

export interface Money {
  readonly amount: number;
  readonly currency: 'USD' | 'GBP' | 'EUR';
}

export interface TransferDone {
  readonly transferId: string;
  readonly authorizationId: string;
  readonly status: string;
}

/** Money as Plaid writes it: a decimal string with two places. */
export function plaidAmount(m: Money): string {
  if (!(m.amount > 0) || !Number.isFinite(m.amount)) throw new RangeError('not a positive amount');
  return m.amount.toFixed(2);
}

/** The two requests of a transfer, as they are sent (dry run reports them, minus secrets). */
export function transferRequests(config: PlaidConfig, creds: PlaidCredentials, accountId: string,
  money: Money, actionKey: string) {
  if (money.currency !== 'USD') {
    throw new GatewayError('GW_ACTION_INPUT_INVALID', 'Plaid transfers are made in dollars');
  }
  const authorization = {
    ...creds, account_id: accountId, type: TransferType.Credit, network: TransferNetwork.Ach,
    amount: plaidAmount(money), ach_class: ACHClass.Ppd,
    user: { legal_name: config.legal_name || 'Account holder' },
    idempotency_key: plaidIdempotencyKey(actionKey, 'transfer-authorization'),
  };
  const transfer = (authorizationId: string) => ({
    ...creds, account_id: accountId, authorization_id: authorizationId,
    description: 'Gateway', idempotency_key: plaidIdempotencyKey(actionKey, 'transfer'),
  });
  return { authorization, transfer };
}

/**
 * Authorises and creates one transfer. A declined authorisation is GW_REMOTE_REJECTED with
 * Plaid's reason; nothing is created. `api`: a client with its own transport (the microVM's
 * brokered agent); by default one for `config.base_url`.
 */
export async function transfer(config: PlaidConfig, creds: PlaidCredentials, accountId: string,
  money: Money, actionKey: string, api: PlaidApi = plaidApi(config)): Promise<TransferDone> {
  const requests = transferRequests(config, creds, accountId, money, actionKey);
  let auth;
  try {
    auth = (await api.transferAuthorizationCreate(requests.authorization)).data.authorization;
  } catch (err) {
    throw plaidError(err, 'transfer authorisation');
  }
  if (auth.decision !== 'approved') {
    const why = auth.decision_rationale?.description ?? auth.decision;
    throw new GatewayError('GW_REMOTE_REJECTED', `Plaid did not authorise the transfer: ${why}`);
  }
  try {
    const created = (await api.transferCreate(requests.transfer(auth.id))).data.transfer;
    return { transferId: created.id, authorizationId: auth.id, status: created.status };
  } catch (err) {
    throw plaidError(err, 'transfer');
  }
}

/** One payment under the payee's consent (Payment Initiation, UK and Europe). */
export async function payment(config: PlaidConfig, creds: PlaidCredentials, payee: string,
  money: Money, actionKey: string, api: PlaidApi = plaidApi(config)):
Promise<{ paymentId: string; status: string }> {
  const consentId = config.payees[payee];
  if (consentId === undefined) {
    throw new GatewayError('GW_CONTACT_UNKNOWN', `${payee} has no payment consent set up`);
  }
  const request = {
    client_id: creds.client_id, secret: creds.secret, consent_id: consentId,
    amount: { currency: money.currency as PaymentAmountCurrency, value: money.amount },
    idempotency_key: plaidIdempotencyKey(actionKey, 'payment'),
  };
  try {
    const res = (await api.paymentInitiationConsentPaymentExecute(request)).data;
    return { paymentId: res.payment_id, status: res.status };
  } catch (err) {
    throw plaidError(err, 'payment');
  }
}
