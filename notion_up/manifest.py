"""The split-file manifest: the format shared by uploads (split) and downloads (reassembly).

It is the format of the service whose databases we share: `<name>.file.json` holding
{"original_filename", "total_size", "parts": [{"part_number", "filename", "file_id",
"file_hash", "size"}]}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from notion_up.errors import ManifestError, UsageError

MANIFEST_SUFFIX = ".file.json"
# A manifest is small; a file named like one but larger than this is taken as an ordinary file,
# and one flagged as a manifest but larger is refused (it is read into memory whole).
MAX_MANIFEST_SIZE = 4 * 1024 * 1024
# Pieces one split file may have (each costs a request or more to fetch): 10,000 pieces of
# 5 MiB is 48 GiB; a manifest naming more was not written by a push.
MAX_PARTS = 10_000


@dataclass(frozen=True, kw_only=True)
class ManifestPart:
    """One piece of a split file, as the manifest names it."""

    part_number: int
    filename: str
    file_id: str
    file_hash: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """What a split file is made of, in order."""

    original_filename: str
    total_size: int
    parts: list[ManifestPart]

    def to_bytes(self) -> bytes:
        """The manifest as stored: UTF-8 JSON."""
        body = {
            "original_filename": self.original_filename,
            "total_size": self.total_size,
            "parts": [
                {
                    "part_number": p.part_number,
                    "filename": p.filename,
                    "file_id": p.file_id,
                    "file_hash": p.file_hash,
                    "size": p.size,
                }
                for p in self.parts
            ],
        }
        return json.dumps(body, indent=2).encode()


def parse_manifest(data: bytes) -> Manifest:
    """Read a manifest, checking its shape; raises ManifestError when it is not one."""
    if len(data) > MAX_MANIFEST_SIZE:
        raise ManifestError(f"the manifest is larger than {MAX_MANIFEST_SIZE} bytes")
    try:
        body = json.loads(data)
        if len(body["parts"]) > MAX_PARTS:
            raise ManifestError(f"the manifest lists more than {MAX_PARTS} pieces")
        parts = [
            ManifestPart(
                part_number=int(p["part_number"]),
                filename=str(p["filename"]),
                file_id=str(p["file_id"]),
                file_hash=str(p["file_hash"]),
                size=int(p["size"]),
            )
            for p in body["parts"]
        ]
        manifest = Manifest(str(body["original_filename"]), int(body["total_size"]), parts)
    except RecursionError:
        raise ManifestError("not a split-file manifest: nested too deeply") from None
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise ManifestError(f"not a split-file manifest: {exc}") from None
    numbers = [p.part_number for p in parts]
    if numbers != list(range(1, len(parts) + 1)):
        raise ManifestError("the manifest's part numbers are not 1..n in order")
    if sum(p.size for p in parts) != manifest.total_size:
        raise ManifestError("the manifest's part sizes do not add up to its total_size")
    if any(p.size < 0 for p in parts):
        raise ManifestError("the manifest lists a piece of negative size")
    ids = {p.file_id.replace("-", "").lower() for p in parts}
    if len(ids) != len(parts) or len({p.file_hash for p in parts}) != len(parts):
        raise ManifestError("the manifest lists the same piece twice")
    return manifest


def is_manifest_name(name: str) -> bool:
    """True for the name a manifest is stored under."""
    return name.endswith(MANIFEST_SUFFIX)


def piece_names(name: str, count: int) -> list[str]:
    """`<name>.part001`, `<name>.part002`, ... (wider numbers past 999 pieces)."""
    width = max(3, len(str(count)))
    return [f"{name}.part{i:0{width}d}" for i in range(1, count + 1)]


def split_size_for(
    size: int, split: int | None, limit: int | None, auto: bool = True
) -> int | None:
    """The size of the pieces `size` bytes are stored in; None when stored whole.

    With --split SIZE, content larger than SIZE goes in pieces of SIZE. Without it, content over
    the workspace's per-file `limit` goes in pieces of that limit, as the service splits such
    files itself; `auto` false (--no-split) leaves it whole, to be refused.
    """
    if split is not None:
        return split if size > split else None
    if auto and limit is not None and size > limit:
        return limit
    return None


def piece_lengths(total: int, piece: int) -> list[int]:
    """The lengths of the pieces `total` bytes are cut into (at least one, maybe empty)."""
    if piece <= 0:
        raise UsageError("--split must be more than 0 bytes")
    full, rest = divmod(total, piece)
    lengths = [piece] * full + ([rest] if rest else [])
    return lengths or [0]
