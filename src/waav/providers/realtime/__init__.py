"""Realtime (speech-to-speech) adapters, registered under the catalog ids."""
