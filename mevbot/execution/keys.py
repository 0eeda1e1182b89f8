"""The trading key: from an encrypted keystore, or on a devnet only, from the environment.

The key lives only inside a :class:`TradingKey`, whose ``repr``/``str`` show the address and
never the key. A keystore is eth-account's Web3 Secret Storage JSON, its password read from an
environment variable or a file. A plain key from the environment is accepted only when the node
is an anvil devnet on a loopback address: the devnet reuses Arbitrum One's chain id 42161, so
the chain id alone cannot tell a devnet from the real chain.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey

from mevbot.execution.errors import KeyLoadError
from mevbot.execution.settings import ExecutionSettings

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class TradingKey:
    """Signs transactions; never reveals the key through repr, str, or pickling."""

    __slots__ = ("_account", "_key")

    def __init__(self, account: LocalAccount) -> None:
        self._account = account
        # Parsed once: LocalAccount.sign_transaction hands eth-account the key's bytes, which it
        # parses again (public key included) on every call; given the key object it does not
        # (3.1 M instead of 3.7 M instructions a signature, the same bytes).
        self._key = PrivateKey(account.key)

    @property
    def address(self) -> str:
        return self._account.address

    def sign_transaction(self, tx: dict) -> bytes:
        return bytes(Account.sign_transaction(tx, self._key).raw_transaction)

    def __repr__(self) -> str:
        return f"TradingKey(address={self.address})"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a TradingKey cannot be pickled")


def is_local_anvil(rpc_url: str, client_version: str) -> bool:
    host = urlparse(rpc_url).hostname or ""
    return host in LOOPBACK_HOSTS and client_version.lower().startswith("anvil")


def load_trading_key(settings: ExecutionSettings, *, environ: Mapping[str, str] | None = None,
                     rpc_url: str = "", client_version: str = "") -> TradingKey:
    """The configured key; a :class:`KeyLoadError` naming what is missing otherwise."""
    env = os.environ if environ is None else environ
    if settings.keystore:
        return TradingKey(Account.from_key(_decrypt_keystore(settings, env)))
    plain = env.get(settings.devnet_key_env, "")
    if plain:
        if not is_local_anvil(rpc_url, client_version):
            raise KeyLoadError(f"${settings.devnet_key_env} holds a plain key, which is accepted only on a local "
                               f"anvil devnet; {rpc_url or 'the node'} reports {client_version!r}. Use an encrypted "
                               "keystore ([execution] keystore) for a real chain.")
        try:
            return TradingKey(Account.from_key(plain))
        except Exception:
            raise KeyLoadError(f"${settings.devnet_key_env} is not a valid private key") from None
    raise KeyLoadError("no trading key: set [execution] keystore (Web3 Secret Storage JSON) with its password in "
                       f"${settings.keystore_password_env} or keystore_password_file, or on a devnet "
                       f"${settings.devnet_key_env}")


def _decrypt_keystore(settings: ExecutionSettings, env: Mapping[str, str]) -> bytes:
    path = Path(settings.keystore)
    try:
        keystore = json.loads(path.read_text())
    except FileNotFoundError:
        raise KeyLoadError(f"keystore {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise KeyLoadError(f"keystore {path} is unreadable: {exc}") from None
    if settings.keystore_password_file:
        try:
            password = Path(settings.keystore_password_file).read_text().rstrip("\n")
        except OSError as exc:
            raise KeyLoadError(f"keystore password file {settings.keystore_password_file} is unreadable: {exc}") from None
    elif settings.keystore_password_env in env:
        password = env[settings.keystore_password_env]
    else:
        raise KeyLoadError(f"keystore {path} needs its password in ${settings.keystore_password_env} "
                           "or [execution] keystore_password_file")
    try:
        return Account.decrypt(keystore, password)
    except ValueError:
        raise KeyLoadError(f"keystore {path}: wrong password or corrupt file") from None
