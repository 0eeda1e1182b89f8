"""mevbot: an MEV arbitrage bot for Arbitrum, built on trio."""

__version__ = "0.1.0"
