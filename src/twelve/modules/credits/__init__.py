"""Credits: customers and accounts, prepaid balances, the ledger and pricing."""
