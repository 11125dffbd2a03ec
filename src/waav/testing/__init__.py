"""Helpers for testing code that uses waav: deterministic test signals (and, later, fake
vendor servers). Public and documented so users can use them in their own tests."""
