"""The rpc tests run against real anvil nodes.

The fixtures are imported rather than listed in ``pytest_plugins``, which pytest only accepts in
the top-level conftest (owned by the lead).
"""

from tests.fixtures.anvil import anvil, anvil_factory  # noqa: F401
