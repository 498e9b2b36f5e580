"""``manifest.json``: sha256 and size of every file of a run directory, plus provenance."""

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from invariants.model.files import MANIFEST_FILE
from reports.atomic import write_atomic

MANIFEST_SCHEMA_VERSION = 1

# Large enough to hash a gigabyte history at disk speed, small enough to not matter in memory.
_HASH_CHUNK_BYTES = 1024 * 1024


def build_manifest(run_dir: Path, provenance: Mapping[str, object]) -> dict:
    """The manifest document: every regular file under ``run_dir`` (recursively, sorted by
    path, ``manifest.json`` itself left out) with its size and sha256, plus ``provenance``.

    Symbolic links are not followed: a run directory holds its own files.

    >>> build_manifest(Path("reports/runs/r1"), {"git_commit": "abc"})["files"][0]  # doctest: +SKIP
    {'path': 'faults.jsonl', 'size': 1290, 'sha256': '9f2c...'}
    """
    files = []
    for path in sorted(_regular_files(run_dir)):
        relative = path.relative_to(run_dir).as_posix()
        if relative == MANIFEST_FILE:
            continue
        size, digest = _size_and_sha256(path)
        files.append({"path": relative, "size": size, "sha256": digest})
    return {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "provenance": dict(provenance),
        "files": files,
    }


def write_manifest(run_dir: Path, provenance: Mapping[str, object]) -> Path:
    """Write ``run_dir/manifest.json`` atomically and return its path.

    Call it last, after every other file of the run is written, so that it covers them all.
    """
    if not run_dir.is_dir():
        raise NotADirectoryError(f"run directory {run_dir} does not exist")
    manifest = build_manifest(run_dir, provenance)
    path = run_dir / MANIFEST_FILE
    write_atomic(path, json.dumps(manifest, indent=2, allow_nan=False) + "\n")
    return path


def _regular_files(run_dir: Path) -> list[Path]:
    found = []
    for directory, _, names in os.walk(run_dir):
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found


def _size_and_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
