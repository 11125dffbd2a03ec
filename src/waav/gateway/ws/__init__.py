"""The ``/ws`` voice session: protocol, STT input path, TTS output path."""
