"""Fake vendor servers for testing code that talks to speech APIs, with no network.

Each fake is an in-process HTTP/WebSocket server bound to ``127.0.0.1`` on a free port. It
checks what the real vendor checks (path, auth, required parameters, message order, audio
format), answers in the vendor's exact message shapes from a script, records everything it
received for assertions, and can inject the faults real vendors produce.

    with FakeDeepgram(script=["hello world"]) as fake:       # (vendor fakes: see below)
        stt = DeepgramSTT(api_key="k", base_url=fake.ws_url)
        ...
        assert fake.received_audio_bytes > 0

The shared machinery lives here: :class:`FakeServer` (serve a Starlette app on a free port,
from sync or async code), :class:`Faults` (fault injection switches) and
:class:`Recorder` (what the fake saw).
"""

from waav.testing.fakes._server import FakeServer, Faults, RecordedRequest, Recorder

__all__ = ["FakeServer", "Faults", "RecordedRequest", "Recorder"]
