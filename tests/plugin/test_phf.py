"""The build-time perfect hash: catalog ⇄ generated table ⇄ native lookup ⇄ pure twin."""

from __future__ import annotations

import hashlib
import json
import runpy
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import waav.plugin
from waav._compat import NO_EXTENSIONS
from waav.plugin import _catalog, _phf_py

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "providers" / "catalog.json"
GEN = runpy.run_path(str(ROOT / "providers" / "gen_phf.py"), run_name="gen_phf")

# The upstream names (upstream.md §2.3), written out here independently of the catalog.
UPSTREAM: dict[str, dict[str, list[str]]] = {
    "stt": {
        "deepgram": [],
        "google": [],
        "elevenlabs": [],
        "microsoft-azure": ["azure"],
        "cartesia": [],
        "openai": [],
        "assemblyai": [],
        "aws-transcribe": ["aws_transcribe", "amazon-transcribe", "transcribe"],
        "ibm-watson": ["ibm_watson", "watson", "ibm"],
        "groq": [],
        "gnani": ["gnani-ai", "gnani.ai", "vachana"],
    },
    "tts": {
        "deepgram": [],
        "elevenlabs": [],
        "google": [],
        "microsoft-azure": ["azure"],
        "cartesia": [],
        "openai": [],
        "aws-polly": ["aws_polly", "amazon-polly", "polly"],
        "ibm-watson": ["ibm_watson", "watson", "ibm"],
        "hume": ["hume-ai", "hume_ai"],
        "lmnt": ["lmnt-ai", "lmnt_ai"],
        "playht": ["play-ht", "play_ht", "play.ht"],
        "gnani": ["gnani-ai", "gnani.ai"],
    },
    "realtime": {"openai": [], "hume": ["hume_evi", "hume-evi", "evi"]},
}
# waav's own offline engines (issue 7), beside the upstream names
LOCAL: dict[str, dict[str, list[str]]] = {
    "stt": {"whisper": ["faster-whisper", "local-whisper"], "pocketsphinx": ["sphinx", "cmu-sphinx"]},
    "tts": {"hibari": ["hibari-tts", "local-tts"], "espeak": ["espeak-ng"]},
}
ALL = {k: {**UPSTREAM.get(k, {}), **LOCAL.get(k, {})} for k in ("stt", "tts", "realtime")}


def _expected() -> set[tuple[str, str, str]]:
    return {(k, n, cid) for k, ids in ALL.items() for cid, al in ids.items() for n in (cid, *al)}


def test_catalog_has_the_upstream_25_with_their_aliases_and_the_local_engines() -> None:
    doc = json.loads(CATALOG.read_text())
    got = {(p["kind"], p["id"]): sorted(p["aliases"]) for p in doc["providers"]}
    want = {(k, cid): sorted(al) for k, ids in ALL.items() for cid, al in ids.items()}
    assert got == want
    assert len(got) == 25 + 4
    assert len([1 for k, ids in UPSTREAM.items() for _ in ids]) == 25


def test_generated_table_is_not_stale() -> None:
    """The installed native table and runtime catalog come from the catalog in this checkout."""
    sha = hashlib.sha256(CATALOG.read_bytes()).hexdigest()
    assert sha == _catalog.CATALOG_SHA256, "installed runtime catalog is stale: rebuild/reinstall waav"
    outputs = GEN["generate"](CATALOG)
    runtime = json.loads(outputs[GEN["RUNTIME_JSON"]])
    installed = json.loads((Path(waav.plugin.__file__).parent / "_catalog.json").read_text())
    assert runtime == installed
    native = waav.plugin.dispatch.PHF
    if native is not _phf_py:
        assert sha == native.CATALOG_SHA256, "compiled _phf table is stale: rebuild waav"
        header = outputs[GEN["TABLE_H"]]
        assert f'"{sha}"' in header
        assert sorted(native.entries()) == sorted(_expected())


def test_generator_is_deterministic_and_perfect() -> None:
    a = GEN["generate"](CATALOG)
    b = GEN["generate"](CATALOG)
    assert a == b
    doc, _ = GEN["load_catalog"](CATALOG)
    t = GEN["build_table"](doc)
    placed = [s for s in t["slots"] if s is not None]
    assert len(placed) == t["nkeys"] == len(_expected())
    # every key hashes to the slot it was placed in, and no two keys share a slot
    for idx, slot in enumerate(t["slots"]):
        if slot is None:
            continue
        kind, key, _ = slot
        g, f1, f2 = GEN["_split"](GEN["phf_hash"](kind, key, t["seed"]), t["nbuckets"])
        d = t["disp"][g]
        assert ((f1 + (d >> 16) * f2 + (d & 0xFFFF)) & 0xFFFFFFFF) & (t["size"] - 1) == idx


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["providers"][0].update(kind="video"), "kind must be one of"),
        (lambda d: d["providers"][1]["aliases"].append("deepgram"), "already used"),
        (lambda d: d["providers"][0].update(id="Deep Gram"), "lower-case ASCII"),
        (lambda d: d["providers"][0].pop("models"), "missing fields"),
    ],
)
def test_generator_rejects_a_bad_catalog(tmp_path: Path, mutate: Any, message: str) -> None:
    doc = json.loads(CATALOG.read_text())
    mutate(doc)
    bad = tmp_path / "catalog.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(SystemExit, match=message):
        GEN["generate"](bad)


def test_every_name_resolves(phf: ModuleType) -> None:
    for kind, name, cid in _expected():
        assert phf.resolve(kind, name) == cid
        assert phf.resolve(kind, name.upper()) == cid
        assert phf.resolve(kind, name.title()) == cid


@pytest.mark.parametrize(
    ("kind", "name", "want"),
    [
        ("stt", "AzUrE", "microsoft-azure"),
        ("tts", "PLAY.HT", "playht"),
        ("realtime", "Evi", "hume"),
        ("stt", "polly", None),  # a TTS alias is not an STT name
        ("realtime", "deepgram", None),
        ("stt", " deepgram", None),  # not trimmed, like the upstream
        ("stt", "deepgram ", None),
        ("stt", "", None),
        ("stt", "deepgra", None),
        ("stt", "deepgramm", None),
        ("stt", "x" * 200, None),
        ("stt", "\u212aeepgram", None),  # Kelvin sign: str.lower() gives "k"; ASCII only here
        ("stt", "dééé", None),
        ("processor", "deepgram", None),
        ("auth", "api-key", None),
    ],
)
def test_lookup_cases(phf: ModuleType, kind: str, name: str, want: str | None) -> None:
    assert phf.resolve(kind, name) == want


def test_bad_arguments(phf: ModuleType) -> None:
    with pytest.raises(ValueError, match="unknown plugin kind"):
        phf.resolve("video", "deepgram")
    with pytest.raises(ValueError, match="unknown plugin kind"):
        phf.resolve("STT", "deepgram")
    with pytest.raises(TypeError, match="must be a str"):
        phf.resolve("stt", b"deepgram")
    with pytest.raises(TypeError, match="must be a str"):
        phf.resolve("stt", None)


def test_str_subclass_and_kind_copies(phf: ModuleType) -> None:
    class S(str):
        pass

    assert phf.resolve("stt", S("Azure")) == "microsoft-azure"
    kind = "".join(["s", "t", "t"])  # equal but not the interned object
    assert phf.resolve(kind, "groq") == "groq"


def test_canonical_ids(phf: ModuleType) -> None:
    for kind, ids in ALL.items():
        assert sorted(phf.canonical_ids(kind)) == sorted(ids)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["stt", "tts", "realtime"]), name=st.text(max_size=24))
def test_native_agrees_with_twin(kind: str, name: str) -> None:
    want = _phf_py.resolve(kind, name)
    assert waav.plugin.resolve(kind, name) == want
    # mixed-case versions of real names too
    real = sorted({n for k, n, _ in _expected() if k == kind})
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(real[len(name) % len(real)]))
    assert waav.plugin.resolve(kind, mixed) == _phf_py.resolve(kind, mixed) is not None


@pytest.mark.skipif(NO_EXTENSIONS, reason="pure run")
def test_native_lookup_is_in_use() -> None:
    assert waav.plugin.IMPLEMENTATION == "waav._native._phf"
    assert waav.plugin.resolve.__module__ == "waav._native._phf"


@pytest.mark.skipif(not NO_EXTENSIONS, reason="native run")
def test_pure_lookup_is_in_use() -> None:
    assert waav.plugin.IMPLEMENTATION == "waav.plugin._phf_py"
