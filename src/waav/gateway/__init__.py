"""The waav gateway: an ASGI app speaking the upstream WaaV /ws, /realtime and REST protocol."""
