"""Declaring a config key: its default, whether it reloads live, and whether it is a secret.

Every settings class in the tree declares its keys with :func:`setting`, so that the config
manager, `mevbot config show` (redaction) and docs/configuration.md read one source of truth.
"""

from __future__ import annotations

from typing import Any

import attrs

RELOADABLE = "mevbot.reloadable"
SECRET = "mevbot.secret"
DOC = "mevbot.doc"


def setting(default: Any = attrs.NOTHING, *, doc: str, reloadable: bool = False,
            secret: bool = False, factory: Any = None) -> Any:
    """An attrs field carrying the config metadata the manager needs."""
    metadata = {RELOADABLE: reloadable, SECRET: secret, DOC: doc}
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


def is_reloadable(field: attrs.Attribute) -> bool:
    return bool(field.metadata.get(RELOADABLE, False))


def is_secret(field: attrs.Attribute) -> bool:
    return bool(field.metadata.get(SECRET, False))


def doc_of(field: attrs.Attribute) -> str:
    return str(field.metadata.get(DOC, ""))
