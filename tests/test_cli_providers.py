"""``waav providers`` lists all 25 cloud providers (11 STT, 12 TTS, 2 realtime) with their
aliases, available, beside the offline engines of ``waav[local]``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

# kind -> id -> aliases, as the upstream's catalog names them (upstream.md §3) plus waav's own
CLOUD: dict[str, dict[str, list[str]]] = {
    "stt": {
        "deepgram": [], "google": [], "elevenlabs": [], "microsoft-azure": ["azure"],
        "cartesia": [], "openai": [], "assemblyai": [], "groq": [],
        "aws-transcribe": ["transcribe", "amazon-transcribe", "aws_transcribe"],
        "ibm-watson": ["watson", "ibm", "ibm_watson"], "gnani": ["gnani-ai", "gnani.ai", "vachana"],
    },
    "tts": {
        "deepgram": [], "elevenlabs": [], "google": [], "microsoft-azure": ["azure"], "cartesia": [],
        "openai": [], "aws-polly": ["polly", "amazon-polly", "aws_polly"],
        "ibm-watson": ["watson", "ibm", "ibm_watson"], "hume": ["hume-ai", "hume_ai"],
        "lmnt": ["lmnt-ai", "lmnt_ai"], "playht": ["play.ht", "play-ht", "play_ht"],
        "gnani": ["gnani-ai", "gnani.ai"],
    },
    "realtime": {"openai": [], "hume": ["evi", "hume-evi", "hume_evi"]},
}  # fmt: skip
LOCAL = {"stt": {"whisper", "pocketsphinx"}, "tts": {"hibari", "espeak"}, "realtime": set()}


def waav(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("waav")
    cmd = [exe] if exe else [sys.executable, "-m", "waav"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60)


def test_all_25_cloud_providers_with_their_aliases() -> None:
    out = waav("providers", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert sum(len(ids) for ids in CLOUD.values()) == 25
    for kind, expected in CLOUD.items():
        got = {r["id"]: r for r in rows if r["kind"] == kind}
        assert set(got) - LOCAL[kind] == set(expected), kind
        for pid, aliases in expected.items():
            row = got[pid]
            assert sorted(row["aliases"]) == sorted(aliases), (kind, pid)
            assert row["available"] is True, (kind, pid, row["state"])
            assert row["metadata"]["display_name"], (kind, pid)
            assert row["source"] == "builtin", (kind, pid)  # waav's own adapter, not "builtin+builtin"


def test_the_text_table_shows_each_with_its_aliases() -> None:
    out = waav("providers")
    assert out.returncode == 0, out.stderr
    table: dict[tuple[str, str], str] = {}
    for line in out.stdout.splitlines()[1:]:
        kind, pid, rest = line.split(None, 2)
        table[(kind, pid)] = rest
    for kind, expected in CLOUD.items():
        for pid, aliases in expected.items():
            assert (kind, pid) in table, (kind, pid)
            assert table[(kind, pid)].startswith(", ".join(aliases) if aliases else "-"), (kind, pid)


def test_a_third_party_adapter_for_a_catalog_id_shows_both_sources() -> None:
    from waav.plugin import PluginConstructor, PluginRegistry

    reg = PluginRegistry()
    reg.discover(third_party=False)
    reg.register(PluginConstructor.tts("lmnt", None, lambda cfg: None), source="entry_point:acme:lmnt")
    (row,) = [i for i in reg.plugins("tts") if i.id == "lmnt"]
    assert row.source == "builtin+entry_point:acme:lmnt"
    (own,) = [i for i in reg.plugins("tts") if i.id == "cartesia"]
    assert own.source == "builtin"
