"""Cloud speech-to-text adapters (one module per vendor), registered under the catalog ids."""
