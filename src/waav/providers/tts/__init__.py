"""Cloud text-to-speech adapters (one module per vendor), registered under the catalog ids."""
