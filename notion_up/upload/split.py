"""Split files: content stored as independent pieces plus a manifest that names them.

For workspaces that cap the size of one file (Notion's free plan: 5 MiB). The manifest format
is the one of the service whose databases we share: `<name>.file.json` holding
{"original_filename", "total_size", "parts": [{"part_number", "filename", "file_id",
"file_hash", "size"}]}, recorded as the visible row (`is_manifest` true); the pieces are rows of
their own with `is_visible` false.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from notion_up.errors import Interrupted, LimitError, NotionUpError, UsageError
from notion_up.manifest import MANIFEST_SUFFIX, Manifest, ManifestPart, piece_names
from notion_up.upload.engine import PushResult, Uploader
from notion_up.upload.source import BufferStream, HashingStream, Source, slice_source


def piece_lengths(total: int, piece: int) -> list[int]:
    """The lengths of the pieces `total` bytes are cut into (at least one, maybe empty)."""
    if piece <= 0:
        raise UsageError("--split must be more than 0 bytes")
    full, rest = divmod(total, piece)
    lengths = [piece] * full + ([rest] if rest else [])
    return lengths or [0]


@dataclass
class SplitResult(PushResult):
    """A split file: the manifest's row (what users pull by) and the pieces behind it."""

    original_name: str = ""
    total_size: int = 0
    pieces: list[PushResult] = field(default_factory=list)

    def to_json(self) -> dict:
        """The --json line: the manifest's fields plus what was split."""
        line = super().to_json()
        line.update(
            split=True,
            original_name=self.original_name,
            total_size=self.total_size,
            pieces=[{"file_id": p.file_id, "name": p.name, "size": p.size} for p in self.pieces],
        )
        return line


class SplitUploader(Uploader):
    """An Uploader that stores content larger than `split_size` as pieces plus a manifest.

    Content that fits in one piece goes up as an ordinary file.
    """

    def __init__(self, *args, split_size: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if split_size <= 0:
            raise UsageError("--split must be more than 0 bytes")
        self.split_size = split_size
        self._flag_lock = threading.Lock()
        self._has_flag: bool | None = None

    def push(
        self,
        source: Source,
        folder_path: str = "/",
        *,
        is_visible: bool = True,
        is_manifest: bool = False,
    ) -> PushResult:
        """Push `source`, in pieces with a manifest when it is larger than `split_size`."""
        if source.size <= self.split_size or not is_visible or is_manifest:
            return super().push(source, folder_path, is_visible=is_visible, is_manifest=is_manifest)
        if self.max_file_size is not None and self.split_size > self.max_file_size:
            raise LimitError(
                f"--split {self.split_size} is over this workspace's limit of "
                f"{self.max_file_size} bytes per file",
                hint=f"use --split {self.max_file_size} or less",
            )
        return self._push_split(source, folder_path)

    def _push_split(self, source: Source, folder_path: str) -> SplitResult:
        lengths = piece_lengths(source.size, self.split_size)
        names = piece_names(source.name, len(lengths))
        pieces: list[PushResult] = []
        # The whole content's digest, so a later --skip-existing recognises the whole file.
        whole = HashingStream(source.stream)
        try:
            for length, name in zip(lengths, names, strict=True):
                if self.cancel.is_set():
                    raise Interrupted("interrupted")
                piece = slice_source(source, length, name, stream=whole)
                pieces.append(super().push(piece, folder_path, is_visible=False))
            source.check_end()
            manifest = Manifest(
                source.name,
                source.size,
                [
                    ManifestPart(n, p.name, p.file_id, p.hash.salted, p.size)
                    for n, p in enumerate(pieces, 1)
                ],
            )
            data = bytearray(manifest.to_bytes())
            stored = Source(source.name + MANIFEST_SUFFIX, len(data), BufferStream(data))
            result = super().push(stored, folder_path, is_manifest=self._manifest_flag())
        except NotionUpError as exc:
            if pieces:
                left = f"{len(pieces)} piece(s) stored as hidden rows no manifest refers to"
                exc.hint = f"{exc.hint}; {left}" if exc.hint else left
            raise
        self._journal_whole(source, folder_path, whole.hexdigest(), result, len(pieces))
        return SplitResult(
            **{f: getattr(result, f) for f in PushResult.__dataclass_fields__},
            original_name=source.name,
            total_size=source.size,
            pieces=pieces,
        )

    def _journal_whole(
        self, source: Source, folder_path: str, sha512: str, manifest: PushResult, count: int
    ) -> None:
        """A finished journal row for the whole file, pointing at its manifest's row."""
        if not self.journal or not source.path:
            return
        push_id = self.journal.start(
            name=source.name, source_path=source.path, size=source.size, mtime=source.mtime,
            mode="split", part_size=self.split_size, part_count=count,
            upload_name=manifest.upload.upload_name, content_type=manifest.upload.content_type,
            salt=manifest.hash.salt, folder_path=folder_path,
            files_data_source=self.databases.files_data_source,
            index_data_source=self.databases.index_data_source,
            user_database_id=self.databases.user_database_id, api_url=self.origin,
        )  # fmt: skip
        self.journal.update(
            push_id, state="done", sha512=sha512, upload_id=manifest.file_upload_id,
            page_id=manifest.file_id, index_id=manifest.index_id,
        )  # fmt: skip

    def _manifest_flag(self) -> bool:
        """Whether the file database has `is_manifest` (databases of the original service may
        not; readers then know a manifest by its `.file.json` name)."""
        with self._flag_lock:
            if self._has_flag is None:
                ds = self.client.retrieve_data_source(self.databases.files_data_source)
                prop = (ds.get("properties") or {}).get("is_manifest") or {}
                self._has_flag = prop.get("type") == "checkbox"
            return self._has_flag


def uploader_for(split_size: int | None) -> Callable[..., Uploader]:
    """The Uploader class to build for a run: plain, or splitting with `--split SIZE`."""
    if split_size is None:
        return Uploader
    return functools.partial(SplitUploader, split_size=split_size)
