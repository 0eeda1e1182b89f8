"""Record a live session, replay it deterministically, and trace an event through the modules.

``recording.py`` is the file format (versioned JSON lines), ``recorder.py`` writes one from a live
feed (`mevbot record`), ``replayer.py`` runs one through the modules' own handlers in feed order
(`mevbot replay`), ``trace.py`` reads an event's hops from the store (`mevbot trace`).
See docs/replay.md.
"""
