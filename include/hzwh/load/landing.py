"""The landing and archive folders (FEEDS.md §2).

Files are only ever listed directly inside `<landing>/<feed>/` (no recursion,
no following links), and archived under a name derived from their checksum,
so no delivered file name can make the pipeline read or write elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from hzwh import settings

UNSAFE = re.compile(r"[^0-9A-Za-z._\-\u4e00-\u9fff]+")


@dataclass(frozen=True)
class LandedFile:
    """A delivered file, identified by its checksum. Its bytes are not held: files are read as streams."""

    path: Path
    name: str
    size: int
    sha256: str


class LandingError(RuntimeError):
    """The landing folder itself is unusable (missing permissions, not a folder)."""


def feed_folder(feed: str, landing: Path | None = None) -> Path:
    return (landing or settings.landing_dir()) / feed


def discover(feed: str, landing: Path | None = None) -> list[Path]:
    """Regular files waiting in the feed's folder, oldest delivery first (revisions apply in order)."""
    folder = feed_folder(feed, landing)
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise LandingError(f"{folder} should be a folder of {feed} files")
    try:
        entries = list(os.scandir(folder))
    except PermissionError as exc:
        raise LandingError(f"cannot read the landing folder {folder}: {exc.strerror}") from exc
    files = [
        Path(e.path)
        for e in entries
        if e.is_file(follow_symlinks=False) and not e.name.startswith(".")
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


READ_BLOCK = 1 << 20


def read_landed(path: Path) -> LandedFile:
    """Checksum a delivered file block by block (a 5 GB file costs 1 MB of memory)."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(READ_BLOCK):
            digest.update(block)
            size += len(block)
    return LandedFile(path=path, name=path.name, size=size, sha256=digest.hexdigest())


def archive(landed: LandedFile, feed: str, archive_root: Path | None = None) -> Path:
    """Keep the delivered bytes under archive/<feed>/<sha[:2]>/<sha>__<safe name> (written atomically)."""
    root = archive_root or settings.archive_dir()
    safe_name = UNSAFE.sub("_", landed.name).strip("._") or "file"
    target = root / feed / landed.sha256[:2] / f"{landed.sha256}__{safe_name[:120]}"
    if not target.exists():
        tmp = target.with_name(target.name + ".part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(landed.path, tmp)  # the kernel copies (copy_file_range); nothing passes through Python
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise LandingError(
                f"cannot archive {landed.name} into {target.parent}: {exc.strerror or exc}; nothing was loaded"
            ) from exc
    return target


def remove_from_landing(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def copy_into_landing(source: Path, feed: str, landing: Path | None = None) -> Path:
    folder = feed_folder(feed, landing)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    shutil.copyfile(source, target)
    return target
