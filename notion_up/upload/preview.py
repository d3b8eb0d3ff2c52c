"""--dry-run: what a push would do with each file, worked out without writing anything.

The plan is the one the real run makes: with `--split SIZE`, content larger than SIZE is
planned as its pieces (each with its own part plan) plus the manifest that names them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from notion_up.errors import NotionUpError
from notion_up.manifest import MANIFEST_SUFFIX, piece_lengths, piece_names, split_size_for
from notion_up.notion.filetypes import UploadName, upload_name
from notion_up.units import human_bytes
from notion_up.upload.existing import ExistingCheck
from notion_up.upload.inputs import FileInput
from notion_up.upload.parts import PartPlan, plan_parts


@dataclass(frozen=True, kw_only=True)
class PiecePlan:
    """One stored piece of a split file: its name, its bytes, how it goes up."""

    name: str
    size: int
    plan: PartPlan
    upload: UploadName

    def to_json(self) -> dict:
        """The piece's fields in the --json line."""
        return {
            "name": self.name,
            "size": self.size,
            "mode": self.plan.mode,
            "parts": self.plan.count,
            "part_size": self.plan.part_size,
            "upload_name": self.upload.upload_name,
        }


@dataclass(frozen=True, kw_only=True)
class Preview:
    """The fate of one file: push (with its plan), skip or refuse, and why."""

    path: str
    name: str
    folder_path: str
    size: int
    action: str
    reason: str = ""
    plan: PartPlan | None = None
    upload: UploadName | None = None
    # With --split, when the file is larger than a piece: the pieces, then the manifest.
    pieces: list[PiecePlan] = field(default_factory=list)
    split_size: int | None = None

    @property
    def split(self) -> bool:
        """True when the file would be stored as pieces plus a manifest."""
        return bool(self.pieces)

    def to_json(self) -> dict:
        """The --json line for this file."""
        data: dict = {
            "dry_run": True,
            "action": self.action,
            "name": self.name,
            "path": self.path,
            "folder_path": self.folder_path,
            "size": self.size,
        }
        if self.reason:
            data["reason"] = self.reason
        if self.split:
            manifest = upload_name(self.name + MANIFEST_SUFFIX)
            data.update(
                mode="split",
                split_size=self.split_size,
                pieces=[p.to_json() for p in self.pieces],
                uploads=len(self.pieces) + 1,
                manifest={
                    "name": manifest.name,
                    "upload_name": manifest.upload_name,
                    "content_type": manifest.content_type,
                },
            )
        elif self.plan is not None and self.upload is not None:
            data.update(
                mode=self.plan.mode,
                parts=self.plan.count,
                part_size=self.plan.part_size,
                upload_name=self.upload.upload_name,
                content_type=self.upload.content_type,
                carrier=self.upload.carrier,
            )
        return data

    def line(self) -> str:
        """One plain line: `would push NAME: ...`, `would skip NAME: why`."""
        where = f"{self.folder_path.rstrip('/')}/{self.name}".lstrip("/")
        if self.action != "push":
            return f"would {self.action} {where}: {self.reason}"
        if self.split:
            return self._split_line(where)
        assert self.plan is not None and self.upload is not None
        travel = f"as {self.upload.upload_name} ({self.upload.content_type})"
        if self.upload.carrier:
            travel += ", a carrier for an unsupported type"
        return (
            f"would push {where}: {human_bytes(self.size)}, {self.plan.mode}, "
            f"{self.plan.count} part(s) of {human_bytes(self.plan.part_size)}, {travel}"
        )

    def _split_line(self, where: str) -> str:
        first, last = self.pieces[0], self.pieces[-1]
        modes = sorted({p.plan.mode for p in self.pieces})
        parts = sum(p.plan.count for p in self.pieces)
        shorter = f", the last {human_bytes(last.size)}" if last.size != first.size else ""
        return (
            f"would push {where}: {human_bytes(self.size)}, split into {len(self.pieces)} "
            f"piece(s) of {human_bytes(first.size)}{shorter}, {'/'.join(modes)}, "
            f"{parts} part(s) in all, as {first.name} … {last.name} (hidden rows), "
            f"plus the manifest {self.name + MANIFEST_SUFFIX}: {len(self.pieces) + 1} uploads"
        )


def _part_size(part_size: int | Callable[[int], int], size: int) -> int:
    return part_size(size) if callable(part_size) else part_size


def preview(
    item: FileInput,
    part_size: int | Callable[[int], int],
    max_file_size: int | None = None,
    existing: ExistingCheck | None = None,
    split_size: int | None = None,
    *,
    auto_split: bool = True,
) -> Preview:
    """Plan one file as push would, without a single write (over the limit: split, unless
    `auto_split` is off; `part_size` may be a file size's part size, as with --part-size auto)."""
    size = os.stat(item.path).st_size
    base: dict[str, Any] = {
        "path": item.path,
        "name": item.name,
        "folder_path": item.folder_path,
        "size": size,
    }
    if existing is not None:
        reason = existing.reason_to_skip(item.path)
        if reason:
            return Preview(**base, action="skip", reason=reason)
    piece = split_size_for(size, split_size, max_file_size, auto_split)
    if piece is not None:
        return _preview_split(base, item.name, size, part_size, max_file_size, piece)
    if max_file_size is not None and size > max_file_size:
        reason = f"over this workspace's limit of {max_file_size} bytes per file"
        if split_size is None:
            reason += " (without --no-split it would be stored in pieces)"
        return Preview(**base, action="refuse", reason=reason)
    try:
        plan = plan_parts(size, _part_size(part_size, size))
    except NotionUpError as exc:
        return Preview(**base, action="refuse", reason=str(exc))
    return Preview(**base, action="push", plan=plan, upload=upload_name(item.name))


def _preview_split(
    base: dict,
    name: str,
    size: int,
    part_size: int | Callable[[int], int],
    max_file_size: int | None,
    split_size: int,
) -> Preview:
    """The pieces and manifest of a file larger than --split, as the Splitter makes them."""
    if max_file_size is not None and split_size > max_file_size:
        reason = (
            f"--split {split_size} is over this workspace's limit of {max_file_size} bytes "
            f"per file (use --split {max_file_size} or less)"
        )
        return Preview(**base, action="refuse", reason=reason, split_size=split_size)
    lengths = piece_lengths(size, split_size)
    pieces = []
    try:
        for piece_name, length in zip(piece_names(name, len(lengths)), lengths, strict=True):
            plan = plan_parts(length, _part_size(part_size, length))
            pieces.append(
                PiecePlan(name=piece_name, size=length, plan=plan, upload=upload_name(piece_name))
            )
    except NotionUpError as exc:
        return Preview(**base, action="refuse", reason=str(exc), split_size=split_size)
    return Preview(**base, action="push", pieces=pieces, split_size=split_size)
