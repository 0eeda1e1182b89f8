"""The runtime: the Module contract, the ModuleManager (supervision, health), logging and the Bot.

``mevbot.config`` is imported first on purpose: the config schema imports every package's
settings, including ``mevbot.runtime.settings``; entering through the config package keeps that
import chain acyclic when a caller's first import is ``mevbot.runtime.settings``.
"""

import mevbot.config  # noqa: F401  (import order, see above)
