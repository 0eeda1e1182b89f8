"""Bus transports: one small interface (base.py) and one module per transport."""
