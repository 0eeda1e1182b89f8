"""anvil's pre-funded dev accounts, and which of them the devnet gives which role.

anvil derives its ten dev accounts from a well-known public test mnemonic; the keys are public
test keys, yet we still never log or store them: callers get ``LocalAccount`` objects, and the
manifest holds addresses only. Roles: account 0 deploys, accounts 1..4 are the noise traders,
accounts 5..9 are spare (the bot, tests) and get the same token balances and approvals.
"""

from __future__ import annotations

import functools

from eth_account import Account
from eth_account.signers.local import LocalAccount

# anvil's default mnemonic: a public test mnemonic documented by Foundry, not a secret.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
ACCOUNT_COUNT = 10
DEPLOYER_INDEX = 0
TRADER_INDICES = (1, 2, 3, 4)
SPARE_INDICES = (5, 6, 7, 8, 9)

Account.enable_unaudited_hdwallet_features()


@functools.cache
def dev_account(index: int) -> LocalAccount:
    """anvil's dev account ``index`` (0..9), able to sign transactions."""
    if not 0 <= index < ACCOUNT_COUNT:
        raise ValueError(f"dev account index {index} is outside 0..{ACCOUNT_COUNT - 1}")
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def deployer() -> LocalAccount:
    return dev_account(DEPLOYER_INDEX)


def traders() -> list[LocalAccount]:
    return [dev_account(i) for i in TRADER_INDICES]


def funded_accounts() -> list[LocalAccount]:
    """Every account that gets token balances and router approvals at deploy time."""
    return [dev_account(i) for i in (*TRADER_INDICES, *SPARE_INDICES)]
