"""The offline ``pocketsphinx`` STT: interim hypotheses while speech goes on, then a final."""

from __future__ import annotations

import itertools

import pytest

import waav
from waav.plugin import global_registry
from waav.providers.base import STTConfig
from waav.providers.local.pocketsphinx import PocketsphinxSTT
from waav.testing.fakes import STTCollector

from ._speech import RATE, SENTENCES, frames, normalise, silence


def session(**options: object) -> tuple[PocketsphinxSTT, STTCollector]:
    stt = global_registry().create_stt("pocketsphinx", {"sample_rate": RATE, "options": options})
    assert isinstance(stt, PocketsphinxSTT)
    return stt, STTCollector(stt)


async def run(stt: PocketsphinxSTT, chunks: list[bytes]) -> None:
    await stt.connect()
    for chunk in chunks:
        await stt.send_audio(chunk)
    await stt.disconnect()


async def test_interim_results_then_a_final(speech: list[bytes]) -> None:
    stt, got = session()
    await run(stt, frames(silence(1.0) + speech[2] + silence(1.0)))
    assert not got.errors
    kinds = [r.is_final for r in got.results]
    assert kinds[-1] is True
    assert kinds.count(True) == 1
    interims = got.results[:-1]
    assert len(interims) >= 2, "no interim results while the sentence was spoken"
    assert all(not r.is_final and not r.is_speech_final for r in interims)
    # an interim is sent only when the hypothesis changed
    assert all(a.transcript != b.transcript for a, b in itertools.pairwise(interims))
    assert normalise(got.results[-1].transcript) == normalise(SENTENCES[2])
    assert got.results[-1].is_speech_final
    # the hypothesis grows with the speech: the last interim already has most of the sentence
    assert normalise(interims[-1].transcript).startswith("please call me back")


async def test_one_final_per_utterance(conversation: bytes) -> None:
    stt, got = session(interim_results=False)
    await run(stt, frames(conversation))
    assert all(r.is_final for r in got.results)
    assert len(got.finals) == 3
    # pocketsphinx is the lite engine: judge it by words, most of which it gets right
    for heard, said in zip(got.transcripts, SENTENCES, strict=True):
        words, ref = normalise(heard).split(), normalise(said).split()
        assert sum(w in ref for w in words) >= 0.6 * len(ref), (heard, said)


async def test_utterance_at_the_start_keeps_its_first_word(speech: list[bytes]) -> None:
    """Speech from the first sample: the onset is not lost (the decoder gets it all)."""
    stt, got = session()
    await run(stt, frames(speech[2] + silence(1.0)))
    assert normalise(got.finals[-1].transcript).split()[0] == "please"


def test_missing_model_file_option_is_a_config_error(tmp_path: object) -> None:
    stt = PocketsphinxSTT(STTConfig(provider="pocketsphinx", options={"lm": "/nonexistent/x.lm.bin"}))
    with pytest.raises(waav.ConfigError, match="no such file"):
        stt.load()
