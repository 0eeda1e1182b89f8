"""Tests for mevbot.pricing: vectors from Uniswap's own suites, properties, a slow reference."""
