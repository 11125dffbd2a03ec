"""Embedded offline engines: speech recognition and synthesis with no keys and no network."""
