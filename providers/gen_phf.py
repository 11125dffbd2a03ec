#!/usr/bin/env python3
"""Generate the provider-name perfect-hash table from ``providers/catalog.json``.

Run by ``setup.py`` before Cython on every build (native and pure). Standard library
only, and deterministic: the same catalog always gives byte-identical outputs, so a
rebuild never sees a spurious change. Two files are written (both gitignored, both kept
out of the sdist, so a build from the sdist must regenerate them):

``src/waav/_native/_phf_table.h``
    The C table compiled into ``waav._native._phf``: a CHD ("hash, displace")
    perfect hash over every (kind, lower-case name) pair of the catalog, ids and
    aliases alike, each slot holding the stored key and the index of its canonical id.

``src/waav/plugin/_catalog.json``
    The normalised catalog the runtime reads (built-in ``ProviderMetadata``, credential
    env vars, the pure-Python twin's dict), stamped with the SHA-256 of the source.

How the perfect hash works
--------------------------
A key is ``kind`` (a small integer) plus the ASCII-lower-cased name. :func:`phf_hash`
turns it into 64 bits, read as ``g`` (the bucket), ``f1`` and ``f2``. Every bucket gets
a displacement pair ``(d1, d2)`` chosen here so that ``(f1 + d1 * f2 + d2) mod SIZE``
lands every key of the catalog in its own slot (buckets are placed largest first; see
Belazzougui, Botelho, Dietzfelbinger, "Hash, displace, and compress", 2009). A lookup is
one hash of at most ``KEYCAP`` bytes, one displacement read, one slot read and one
compare of the stored key, so a name that is not in the catalog can never match.

Usage: ``python providers/gen_phf.py [--check]`` (``--check`` exits 1 if an output is stale).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "providers" / "catalog.json"
TABLE_H = ROOT / "src" / "waav" / "_native" / "_phf_table.h"
RUNTIME_JSON = ROOT / "src" / "waav" / "plugin" / "_catalog.json"

#: Plugin kinds, in the order of their integer ids (the native module reads this order).
KINDS = ("stt", "tts", "realtime", "processor", "middleware", "ws_handler", "auth")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_FIELDS = {
    "kind": str,
    "id": str,
    "aliases": list,
    "display_name": str,
    "description": str,
    "transport": str,
    "base_url": str,
    "features": list,
    "languages": list,
    "models": list,
    "required_config": list,
    "optional_config": list,
    "credentials": list,
}

M64 = (1 << 64) - 1
SEED0 = 0x5741_4156_5048_4621  # "WAAVPHF!"; the generator moves on to the next seed if needed


def phf_hash(kind: int, key: bytes, seed: int) -> int:
    """The 64-bit hash of (kind, key); ``_phf.pyx`` computes exactly the same thing in C."""
    h = (seed ^ ((len(key) * 0x9E3779B97F4A7C15) & M64) ^ (kind << 56)) & M64
    for i in range(0, len(key), 8):
        w = int.from_bytes(key[i : i + 8].ljust(8, b"\0"), "little")
        h = ((h ^ w) * 0xFF51AFD7ED558CCD) & M64
        h ^= h >> 32
    h ^= h >> 29
    h = (h * 0xC4CEB9FE1A85EC53) & M64
    h ^= h >> 32
    return h


def _split(h: int, nbuckets: int) -> tuple[int, int, int]:
    """(bucket, f1, f2) from one hash: the same split as ``_phf.pyx``."""
    return (h >> 32) & (nbuckets - 1), h & 0xFFFFFFFF, (h >> 40) | 1


def _pow2(n: int) -> int:
    p = 1
    while p < n:
        p <<= 1
    return p


def load_catalog(path: Path = CATALOG) -> tuple[dict[str, Any], bytes]:
    raw = path.read_bytes()
    doc = json.loads(raw)
    validate(doc)
    return doc, raw


def validate(doc: dict[str, Any]) -> None:
    """Reject a malformed catalog with a message naming the entry and field."""
    providers = doc.get("providers")
    if not isinstance(providers, list) or not providers:
        raise SystemExit("catalog.json: 'providers' must be a non-empty list")
    names: dict[tuple[str, str], str] = {}
    for i, p in enumerate(providers):
        where = f"catalog.json providers[{i}] ({p.get('kind')}:{p.get('id')})"
        missing = set(_FIELDS) - set(p)
        extra = set(p) - set(_FIELDS)
        if missing or extra:
            raise SystemExit(f"{where}: missing fields {sorted(missing)}, unknown fields {sorted(extra)}")
        for field, typ in _FIELDS.items():
            if not isinstance(p[field], typ):
                raise SystemExit(f"{where}: {field} must be a {typ.__name__}")
        if p["kind"] not in KINDS:
            raise SystemExit(f"{where}: kind must be one of {KINDS}")
        for name in [p["id"], *p["aliases"]]:
            if not isinstance(name, str) or not _ID_RE.match(name):
                raise SystemExit(f"{where}: name {name!r} must be lower-case ASCII [a-z0-9._-]")
            other = names.get((p["kind"], name))
            if other is not None:
                raise SystemExit(f"{where}: {p['kind']} name {name!r} already used by {other!r}")
            names[(p["kind"], name)] = p["id"]
        for c in p["credentials"]:
            if not (isinstance(c, dict) and {"option", "env", "yaml"} <= set(c)):
                raise SystemExit(f"{where}: credentials entries need option, env and yaml")


def build_table(doc: dict[str, Any]) -> dict[str, Any]:
    """Place every (kind, name) key; return the table description the emitters use."""
    canon: list[tuple[int, str]] = []
    keys: list[tuple[int, bytes, int]] = []
    for p in doc["providers"]:
        kind = KINDS.index(p["kind"])
        ci = len(canon)
        canon.append((kind, p["id"]))
        for name in [p["id"], *p["aliases"]]:
            keys.append((kind, name.encode("ascii"), ci))
    n = len(keys)
    size = _pow2(max(2 * n, 8))
    nbuckets = _pow2(max(n // 2, 1))
    maxlen = max(len(k) for _, k, _ in keys)
    keycap = (maxlen + 8) & ~7  # zero-padded to whole 8-byte words, with room for the NUL
    seed = SEED0
    while True:
        placed = _place(keys, size, nbuckets, seed)
        if placed is not None:
            break
        seed = (seed * 0x9E3779B97F4A7C15 + 1) & M64
    disp, slots = placed
    return {
        "seed": seed,
        "size": size,
        "nbuckets": nbuckets,
        "keycap": keycap,
        "maxlen": maxlen,
        "disp": disp,
        "slots": slots,
        "canon": canon,
        "nkeys": n,
    }


def _place(
    keys: list[tuple[int, bytes, int]], size: int, nbuckets: int, seed: int
) -> tuple[list[int], list[tuple[int, bytes, int] | None]] | None:
    buckets: list[list[tuple[int, int, tuple[int, bytes, int]]]] = [[] for _ in range(nbuckets)]
    for key in keys:
        g, f1, f2 = _split(phf_hash(key[0], key[1], seed), nbuckets)
        buckets[g].append((f1, f2, key))
    order = sorted(range(nbuckets), key=lambda b: (-len(buckets[b]), b))
    slots: list[tuple[int, bytes, int] | None] = [None] * size
    disp = [0] * nbuckets
    mask = size - 1
    for b in order:
        items = buckets[b]
        if not items:
            continue
        for trial in range(size * size):
            d1, d2 = divmod(trial, size)
            idx = [((f1 + d1 * f2 + d2) & 0xFFFFFFFF) & mask for f1, f2, _ in items]
            if len(set(idx)) == len(idx) and all(slots[i] is None for i in idx):
                for i, (_, _, key) in zip(idx, items, strict=False):
                    slots[i] = key
                disp[b] = (d1 << 16) | d2
                break
        else:
            return None
    return disp, slots


def _c_string(b: bytes) -> str:
    return (
        '"'
        + "".join(chr(c) if 0x20 <= c < 0x7F and c not in (0x22, 0x5C) else f"\\x{c:02x}" for c in b)
        + '"'
    )


def emit_header(t: dict[str, Any], sha: str) -> str:
    lines = [
        "/* Generated by providers/gen_phf.py from providers/catalog.json. Do not edit. */",
        "#ifndef WAAV_PHF_TABLE_H",
        "#define WAAV_PHF_TABLE_H",
        "#include <stdint.h>",
        "",
        f"#define WAAV_PHF_SEED 0x{t['seed']:016x}ULL",
        f"#define WAAV_PHF_SIZE {t['size']}",
        f"#define WAAV_PHF_NBUCKETS {t['nbuckets']}",
        f"#define WAAV_PHF_KEYCAP {t['keycap']}",
        f"#define WAAV_PHF_MAXLEN {t['maxlen']}",
        f"#define WAAV_PHF_NKEYS {t['nkeys']}",
        f"#define WAAV_PHF_NCANON {len(t['canon'])}",
        f"#define WAAV_PHF_NKINDS {len(KINDS)}",
        f'#define WAAV_PHF_CATALOG_SHA256 "{sha}"',
        "",
        "typedef struct {",
        "    uint8_t kind;      /* 0xff: empty slot */",
        "    uint8_t len;",
        "    uint16_t canon;    /* index into waav_phf_canon */",
        "    char key[WAAV_PHF_KEYCAP];  /* lower-case, zero-padded */",
        "} waav_phf_entry;",
        "",
        "static const char *const waav_phf_kinds[WAAV_PHF_NKINDS] = {"
        + ", ".join(_c_string(k.encode()) for k in KINDS)
        + "};",
        "",
        "static const uint32_t waav_phf_disp[WAAV_PHF_NBUCKETS] = {",
    ]
    disp = t["disp"]
    for i in range(0, len(disp), 8):
        lines.append("    " + ", ".join(f"0x{d:08x}u" for d in disp[i : i + 8]) + ",")
    lines += ["};", "", "static const uint8_t waav_phf_canon_kind[WAAV_PHF_NCANON] = {"]
    canon = t["canon"]
    for i in range(0, len(canon), 16):
        lines.append("    " + ", ".join(str(k) for k, _ in canon[i : i + 16]) + ",")
    lines += ["};", "", "static const char *const waav_phf_canon[WAAV_PHF_NCANON] = {"]
    lines += [f"    {_c_string(name.encode())},  /* {KINDS[k]} */" for k, name in canon]
    lines += ["};", "", "static const waav_phf_entry waav_phf_slots[WAAV_PHF_SIZE] = {"]
    for slot in t["slots"]:
        if slot is None:
            lines.append('    {0xff, 0, 0, ""},')
        else:
            kind, key, ci = slot
            lines.append(f"    {{{kind}, {len(key)}, {ci}, {_c_string(key)}}},")
    lines += ["};", "", "#endif", ""]
    return "\n".join(lines)


def emit_runtime(doc: dict[str, Any], sha: str) -> str:
    out = {
        "generated_by": "providers/gen_phf.py",
        "catalog_sha256": sha,
        "kinds": list(KINDS),
        "providers": doc["providers"],
    }
    return json.dumps(out, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def generate(catalog: Path = CATALOG) -> dict[Path, str]:
    """Return {output path: content} for a catalog, without writing anything."""
    doc, raw = load_catalog(catalog)
    sha = hashlib.sha256(raw).hexdigest()
    table = build_table(doc)
    return {TABLE_H: emit_header(table, sha), RUNTIME_JSON: emit_runtime(doc, sha)}


def main(argv: list[str]) -> int:
    outputs = generate()
    stale = [p for p, text in outputs.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    if "--check" in argv:
        for p in stale:
            print(f"stale: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:  # write only what changed, so an unchanged catalog triggers no rebuild
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(outputs[p], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
