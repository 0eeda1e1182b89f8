"""Bus test fixtures."""

# mevbot.config's package __init__ imports the schema, which imports every settings module;
# importing it first avoids a circular import when a settings module is the first one loaded.
import mevbot.config  # noqa: F401
