"""Mirror the `bronze` container (Azurite locally) into a folder Spark can read.

Spark reads ADLS through the DFS endpoint, which Azurite does not have, so the local
medallion copies the container's blobs to a local folder first. The copy is incremental:
a blob already mirrored with the same ETag is skipped, a blob that changed is fetched
again, a blob that disappeared is removed. Each file is written under a hidden temporary
name and renamed into place, so Spark never sees half a file.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

# Azurite's documented, public development account (not a secret): what
# `UseDevelopmentStorage=true` means, spelled out because the Python SDK does not parse it.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_BLOB = "http://127.0.0.1:10000/devstoreaccount1"
STATE_FILE = ".mirror-state.json"


def expand_connection_string(cs: str) -> str:
    if cs.strip().rstrip(";").replace(" ", "").lower() == "usedevelopmentstorage=true":
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
                f"AccountKey={AZURITE_KEY};BlobEndpoint={AZURITE_BLOB};")
    return cs


def connection_string_from_env(env: Mapping[str, str] = os.environ) -> str:
    return expand_connection_string(env.get("AZURE_STORAGE_CONNECTION_STRING") or
                                    "UseDevelopmentStorage=true")


class ContainerLike(Protocol):
    def list_blobs(self) -> Any: ...
    def download_blob(self, blob: str) -> Any: ...


@dataclass
class MirrorResult:
    downloaded: int = 0
    skipped: int = 0
    deleted: int = 0
    bytes: int = 0


def _load_state(dest: Path) -> dict[str, str]:
    p = dest / STATE_FILE
    return json.loads(p.read_text()) if p.exists() else {}


def _save_state(dest: Path, state: dict[str, str]) -> None:
    tmp = dest / f".{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state, indent=0, sort_keys=True))
    os.replace(tmp, dest / STATE_FILE)


def mirror_container(
    container: ContainerLike,
    dest: str | Path,
    progress: Callable[[str], None] = lambda _m: None,
) -> MirrorResult:
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    state = _load_state(dest)
    result = MirrorResult()
    seen: set[str] = set()
    for blob in container.list_blobs():
        name: str = blob.name
        if name.startswith("/") or ".." in Path(name).parts:
            raise ValueError(f"refusing to mirror blob with unsafe name {name!r}")
        seen.add(name)
        local = dest / name
        etag = str(blob.etag)
        if state.get(name) == etag and local.exists():
            result.skipped += 1
            continue
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.parent / f".{local.name}.part"  # hidden: Spark ignores it
        with tmp.open("wb") as fh:
            container.download_blob(name).readinto(fh)
        os.replace(tmp, local)
        result.downloaded += 1
        result.bytes += local.stat().st_size
        state[name] = etag
        _save_state(dest, state)
    for name in sorted(set(state) - seen):
        (dest / name).unlink(missing_ok=True)
        del state[name]
        result.deleted += 1
    _save_state(dest, state)
    progress(f"mirror: {result.downloaded} downloaded ({result.bytes} bytes), "
             f"{result.skipped} unchanged, {result.deleted} removed")
    return result


def mirror_bronze(
    connection_string: str,
    container: str,
    dest: str | Path,
    progress: Callable[[str], None] = lambda _m: None,
) -> MirrorResult:
    from azure.storage.blob import ContainerClient

    cc = ContainerClient.from_connection_string(expand_connection_string(connection_string), container)
    return mirror_container(cc, dest, progress)
