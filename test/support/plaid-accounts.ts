/** Accounts of one Plaid Item as /accounts/balance/get returns them (documented fields). */
export const PLAID_ACCOUNTS = [
  { account_id: 'BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp', mask: '0000', name: 'Plaid Checking',
    official_name: 'Plaid Gold Standard 0% Interest Checking', type: 'depository',
    subtype: 'checking', balances: { available: 1234.56, current: 1310.2, limit: null,
      iso_currency_code: 'USD', unofficial_currency_code: null } },
  { account_id: 'dVzbVMLjrxTnLjX4G66XUp5GLklm4oiZy88yK', mask: '1111', name: 'Plaid Saving',
    official_name: 'Plaid Silver Standard 0.1% Interest Saving', type: 'depository',
    subtype: 'savings', balances: { available: null, current: 20500, limit: null,
      iso_currency_code: 'USD', unofficial_currency_code: null } },
] as const;
