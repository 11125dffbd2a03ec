"""Fake vendor servers for testing code that talks to speech APIs, with no network.

Each fake is an in-process HTTP/WebSocket server bound to ``127.0.0.1`` on a free port. It
checks what the real vendor checks (path, auth, required parameters, message order, audio
format), answers in the vendor's exact message shapes from a script, records everything it
received for assertions, and can inject the faults real vendors produce.

    with FakeDeepgram(script=["hello world"]) as fake:       # (vendor fakes: see below)
        stt = DeepgramSTT(STTConfig(api_key=fake.api_key, base_url=fake.ws_url))
        ...
        assert fake.requests[0].audio_bytes > 0

The shared machinery lives here: :class:`FakeServer` (serve a Starlette app on a free port,
from sync or async code), :class:`Faults` (fault injection switches) and
:class:`Recorder` (what the fake saw).

Text-to-speech fakes (:class:`FakeDeepgramTTS`, :class:`FakeElevenLabsTTS`,
:class:`FakeGoogleTTS`, :class:`FakeAzureTTS`, :class:`FakeCartesiaTTS`,
:class:`FakeOpenAITTS`, :class:`FakeLmntTTS`, :class:`FakePlayHTTTS`, :class:`FakeHumeTTS`,
:class:`FakeIBMWatsonTTS`, :class:`FakePollyTTS`, :class:`FakeGnaniTTS`) synthesise text
deterministically (:func:`synth_pcm16`: 10 ms of level ``ord(c)`` per character), stream it
in the vendor's output format paced by ``chunk_delay``, and count responses the client
``aborted`` (barge-in) or ``completed``;
:class:`AudioCollector` records what a TTS session delivered::

    async with FakeOpenAITTS(chunk_delay=0.01) as fake:
        tts = registry.create_tts("openai", {"api_key": fake.api_key, "base_url": fake.base_url})

Streaming speech-to-text fakes (:class:`FakeDeepgram`, :class:`FakeAssemblyAI`,
:class:`FakeElevenLabs`, :class:`FakeCartesia`, :class:`FakeAzureSpeech`,
:class:`FakeIBMWatson`, :class:`FakeAWSTranscribe` (SigV4 check, event-stream frames),
built on :class:`ScriptedSTTFake`) answer a script of utterances (an
interim, then the final with word timings, per ``bytes_per_result`` of audio) in each vendor's
WebSocket protocol and honour every :class:`Faults` switch; :class:`STTCollector` records what
an STT session delivered and waits for it. The file-transcription fakes (:class:`FakeOpenAISTT`,
:class:`FakeGroq`) answer each uploaded WAV with the next scripted transcript in the vendor's
JSON shapes and keep the decoded uploads. The gRPC fakes (:class:`FakeGoogleSpeech`, :class:`FakeGnani`, on
:class:`GrpcFakeServer`; need ``grpcio``) implement the vendor's streaming service in-process.

Realtime fakes (:class:`FakeOpenAIRealtime` for the OpenAI Realtime GA interface,
:class:`FakeHumeEVI` for the Hume EVI chat) play a scripted conversation: an energy VAD over
the audio they receive sends the vendor's speech events and user transcripts, and each
:class:`Reply` is answered as a tone with its transcript (or as a function call that waits for
the client's result). Each connection is recorded (:class:`OpenAISession`,
:class:`HumeSession`: client events, decoded input audio, session settings)::

    async with FakeOpenAIRealtime(replies=[Reply("hello")], transcripts=["hi there"]) as fake:
        rt = registry.create_realtime("openai", {"api_key": fake.api_key, "base_url": fake.base_url})
"""

from waav.testing.fakes._collect import AudioCollector
from waav.testing.fakes._grpc import GrpcFakeServer
from waav.testing.fakes._realtime import Reply
from waav.testing.fakes._server import AppServer, FakeServer, Faults, RecordedRequest, Recorder
from waav.testing.fakes._stt_ws import ScriptedSTTFake, STTCollector
from waav.testing.fakes._tts_kit import (
    MS_PER_CHAR,
    TTSFakeServer,
    decode_levels,
    encode_audio,
    synth_pcm16,
    wav_header,
)
from waav.testing.fakes.assemblyai import FakeAssemblyAI
from waav.testing.fakes.aws_transcribe import FakeAWSTranscribe
from waav.testing.fakes.azure import FakeAzureSpeech
from waav.testing.fakes.azure_tts import FakeAzureTTS
from waav.testing.fakes.cartesia import FakeCartesia
from waav.testing.fakes.cartesia_tts import FakeCartesiaTTS
from waav.testing.fakes.deepgram import FakeDeepgram
from waav.testing.fakes.deepgram_tts import FakeDeepgramTTS
from waav.testing.fakes.elevenlabs import FakeElevenLabs
from waav.testing.fakes.elevenlabs_tts import FakeElevenLabsTTS
from waav.testing.fakes.gnani import FakeGnani
from waav.testing.fakes.gnani_tts import FakeGnaniTTS
from waav.testing.fakes.google_stt import FakeGoogleSpeech
from waav.testing.fakes.google_tts import FakeGoogleTTS
from waav.testing.fakes.hume_evi import FakeHumeEVI, HumeSession
from waav.testing.fakes.hume_tts import FakeHumeTTS
from waav.testing.fakes.ibm_watson import FakeIBMWatson
from waav.testing.fakes.ibm_watson_tts import FakeIBMWatsonTTS
from waav.testing.fakes.lmnt_tts import FakeLmntTTS
from waav.testing.fakes.openai_realtime import FakeOpenAIRealtime, OpenAISession
from waav.testing.fakes.openai_stt import FakeGroq, FakeOpenAISTT
from waav.testing.fakes.openai_tts import FakeOpenAITTS
from waav.testing.fakes.playht_tts import FakePlayHTTTS
from waav.testing.fakes.polly_tts import FakePollyTTS

__all__ = [
    "MS_PER_CHAR",
    "AppServer",
    "AudioCollector",
    "FakeAWSTranscribe",
    "FakeAssemblyAI",
    "FakeAzureSpeech",
    "FakeAzureTTS",
    "FakeCartesia",
    "FakeCartesiaTTS",
    "FakeDeepgram",
    "FakeDeepgramTTS",
    "FakeElevenLabs",
    "FakeElevenLabsTTS",
    "FakeGnani",
    "FakeGnaniTTS",
    "FakeGoogleSpeech",
    "FakeGoogleTTS",
    "FakeGroq",
    "FakeHumeEVI",
    "FakeHumeTTS",
    "FakeIBMWatson",
    "FakeIBMWatsonTTS",
    "FakeLmntTTS",
    "FakeOpenAIRealtime",
    "FakeOpenAISTT",
    "FakeOpenAITTS",
    "FakePlayHTTTS",
    "FakePollyTTS",
    "FakeServer",
    "Faults",
    "GrpcFakeServer",
    "HumeSession",
    "OpenAISession",
    "RecordedRequest",
    "Recorder",
    "Reply",
    "STTCollector",
    "ScriptedSTTFake",
    "TTSFakeServer",
    "decode_levels",
    "encode_audio",
    "synth_pcm16",
    "wav_header",
]
