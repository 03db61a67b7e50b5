"""The incremental bronze mirror: a fake container for the rules, a real Azurite when present."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from soundlake.local import mirror as m


class Blob:
    def __init__(self, name, etag):
        self.name, self.etag = name, etag


class Download:
    def __init__(self, data):
        self.data = data

    def readinto(self, fh):
        fh.write(self.data)
        return len(self.data)


class FakeContainer:
    def __init__(self):
        self.blobs: dict[str, tuple[str, bytes]] = {}
        self.downloads: list[str] = []

    def put(self, name, data: bytes):
        etag = f"0x{abs(hash((name, data, len(self.downloads), time.monotonic_ns()))):x}"
        self.blobs[name] = (etag, data)

    def list_blobs(self):
        return [Blob(n, e) for n, (e, _) in sorted(self.blobs.items())]

    def download_blob(self, name):
        self.downloads.append(name)
        return Download(self.blobs[name][1])


def test_mirror_copies_new_skips_unchanged_refetches_changed_and_removes_deleted(tmp_path):
    c = FakeContainer()
    c.put("dim_users/load_date=2026-01-01/dim_users__s0000000001__p00000.parquet", b"one")
    c.put("_manifests/dim_users/s0000000001.json", b"{}")
    r = m.mirror_container(c, tmp_path)
    assert (r.downloaded, r.skipped, r.deleted, r.bytes) == (2, 0, 0, 5)
    assert (tmp_path / "dim_users/load_date=2026-01-01/dim_users__s0000000001__p00000.parquet").read_bytes() == b"one"

    r = m.mirror_container(c, tmp_path)
    assert (r.downloaded, r.skipped) == (0, 2) and len(c.downloads) == 2

    c.put("dim_users/load_date=2026-01-01/dim_users__s0000000001__p00000.parquet", b"ONE!")
    c.put("dim_users/load_date=2026-01-02/dim_users__s0000000002__p00000.parquet", b"two")
    del c.blobs["_manifests/dim_users/s0000000001.json"]
    r = m.mirror_container(c, tmp_path)
    assert (r.downloaded, r.skipped, r.deleted) == (2, 0, 1)
    assert (tmp_path / "dim_users/load_date=2026-01-01/dim_users__s0000000001__p00000.parquet").read_bytes() == b"ONE!"
    assert not (tmp_path / "_manifests/dim_users/s0000000001.json").exists()
    assert not list(tmp_path.rglob("*.part"))


def test_a_locally_lost_file_is_fetched_again(tmp_path):
    c = FakeContainer()
    c.put("t/load_date=2026-01-01/t__s0000000001__p00000.parquet", b"x")
    m.mirror_container(c, tmp_path)
    (tmp_path / "t/load_date=2026-01-01/t__s0000000001__p00000.parquet").unlink()
    assert m.mirror_container(c, tmp_path).downloaded == 1


def test_unsafe_blob_names_are_refused(tmp_path):
    c = FakeContainer()
    c.put("../escape.parquet", b"x")
    with pytest.raises(ValueError, match="unsafe"):
        m.mirror_container(c, tmp_path)


def test_connection_string_defaults_to_azurite():
    cs = m.connection_string_from_env({})
    assert "AccountName=devstoreaccount1" in cs and "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1" in cs
    assert m.connection_string_from_env({"AZURE_STORAGE_CONNECTION_STRING": "UseDevelopmentStorage=true;"}) == cs
    real = "DefaultEndpointsProtocol=https;AccountName=a;EndpointSuffix=core.windows.net"
    assert m.connection_string_from_env({"AZURE_STORAGE_CONNECTION_STRING": real}) == real


def _azurite_bin() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        p = parent / "node_modules" / ".bin" / "azurite-blob"
        if p.exists():
            return p
    found = shutil.which("azurite-blob")
    return Path(found) if found else None


@pytest.fixture()
def azurite(tmp_path):
    exe = _azurite_bin()
    if exe is None:
        pytest.skip("azurite-blob not installed (npm ci at the repository root installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(exe), "--blobPort", str(port), "--location", str(tmp_path / "azurite"),
                             "--silent", "--skipApiVersionCheck", "--disableTelemetry"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("Azurite did not start")
        yield (m.expand_connection_string("UseDevelopmentStorage=true")
               .replace("127.0.0.1:10000", f"127.0.0.1:{port}"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_mirror_from_a_real_azurite(azurite, tmp_path):
    from azure.storage.blob import ContainerClient

    from soundlake.local.demo_bronze import upload, write_demo

    src = tmp_path / "src"
    write_demo(src, users=5, tracks=5, streams_per_pass=20)
    n = upload(src, azurite, "bronze")
    dest = tmp_path / "mirror"
    r = m.mirror_bronze(azurite, "bronze", dest)
    assert r.downloaded == n and r.skipped == 0
    files = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file())
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")
                  if p.is_file() and not p.name.startswith(".")) == files
    assert all((src / f).read_bytes() == (dest / f).read_bytes() for f in files)

    assert m.mirror_bronze(azurite, "bronze", dest).skipped == n
    cc = ContainerClient.from_connection_string(azurite, "bronze")
    cc.upload_blob(files[0], b"changed", overwrite=True)
    cc.delete_blob(files[1])
    r = m.mirror_bronze(azurite, "bronze", dest)
    assert (r.downloaded, r.skipped, r.deleted) == (1, n - 2, 1)
    assert (dest / files[0]).read_bytes() == b"changed"
