"""Split files: content stored as independent pieces plus a manifest that names them.

For workspaces that cap the size of one file (Notion's free plan: 5 MiB). The manifest format
is the one of the service whose databases we share: `<name>.file.json` holding
{"original_filename", "total_size", "parts": [{"part_number", "filename", "file_id",
"file_hash", "size"}]}. The visible row carries the original name and the total size with
`is_manifest` true, and only the index entry is named `<name>.file.json` (as the service's
`StreamingUploader.process_stream` writes it); the pieces are rows of their own with
`is_visible` false, at the root as the service keeps them. A file database without
`is_manifest` gets the checkbox first.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from notion_up.errors import (
    ConfigError,
    Interrupted,
    LimitError,
    NotionUpError,
    TooSlow,
    UsageError,
)
from notion_up.events import Notice
from notion_up.manifest import (
    MANIFEST_SUFFIX,
    MAX_PARTS,
    Manifest,
    ManifestPart,
    piece_lengths,
    piece_names,
    split_size_for,
)
from notion_up.notion.filetypes import UploadName
from notion_up.notion.records import ContentHash, ensure_manifest_property, file_sha512
from notion_up.state.journal import PushEntry
from notion_up.units import human_bytes
from notion_up.upload.engine import Uploader
from notion_up.upload.parts import PartPlan
from notion_up.upload.runs import PushResult
from notion_up.upload.source import (
    BufferStream,
    HashingStream,
    Source,
    open_file,
    open_piece,
    slice_source,
)
from notion_up.upload.volumes import Volume, VolumeReader, sweep


@dataclass(kw_only=True)
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


class Splitter:
    """Stores content as pieces plus a manifest when it must be split, each piece an ordinary
    push of the Uploader it wraps; content that fits is pushed as is.

    Content is split when larger than `split_size` (--split SIZE) or, without it, when over the
    workspace's per-file limit (unless `auto` is off: --no-split refuses such content).
    """

    def __init__(
        self,
        uploader: Uploader,
        split_size: int | None = None,
        *,
        auto: bool = True,
        volume_size: int = 512 * 1024 * 1024,  # the volume_size setting's default
    ) -> None:
        if split_size is not None and split_size <= 0:
            raise UsageError("--split must be more than 0 bytes")
        self.uploader = uploader
        self.split_size = split_size
        self.auto = auto
        self.volume_size = volume_size
        self._flag_lock = threading.Lock()
        self._flag_error: ConfigError | None = None
        self._has_flag = False

    def piece_size(self, size: int) -> int | None:
        """The size of the pieces `size` bytes go up in, None for one whole file.

        Over the limit is only known once the set-up reads are in: before, a file goes up
        whole, and `push` splits it if the Uploader then refuses it (no byte was sent).
        """
        facts = self.uploader.facts
        limit = facts.max_file_size if facts.known() else None
        piece = split_size_for(size, self.split_size, limit, self.auto)
        if piece is not None and self.split_size is None and facts.refreshed():
            # A cached limit may be from before an upgrade: split by the one Notion says now.
            piece = split_size_for(size, None, facts.max_file_size, self.auto)
        in_time = self.in_time()
        if in_time is not None and size > in_time and (piece is None or piece > in_time):
            return in_time
        return piece

    def in_time(self) -> int | None:
        """The largest upload that finishes before it expires at the measured pace (None: not
        measured yet, or splitting is off)."""
        if not self.auto:
            return None
        up = self.uploader
        return up.pace.most_bytes(up.options.part_size, up.options.workers)

    def push(self, source: Source, folder_path: str = "/") -> PushResult:
        """Push `source`: whole when it fits, else as pieces with a manifest; a stream of
        unknown length in volumes as it is read."""
        up = self.uploader
        if source.unsized:
            return self._push_stream(source, folder_path)
        piece = self.piece_size(source.size)
        entry = up.unfinished_push_of(source)
        if entry is not None and entry.mode == "split":
            up.emit(
                Notice(
                    f"finishing the unfinished split push of {source.name} "
                    f"(journal entry {entry.id}) instead of starting a new one"
                )
            )
            if up.journal:
                up.journal.update(entry.id)  # taken up by this run: counted once if cut short
            return self._resume_split(entry, source)
        if piece is None:
            try:
                return up.push(source, folder_path)
            except LimitError as exc:  # TooSlow too: stopped before it expired
                # The limit is known now, or the pace measured: planned again, once.
                piece = self.piece_size(source.size)
                if piece is None or piece >= source.size:
                    raise
                if isinstance(exc, TooSlow):
                    return self._split_again(source, folder_path, piece, exc)
        elif entry is not None and up.journal is not None:
            # Begun whole before the limit was known; it went no further (no byte was sent).
            up.journal.update(entry.id, state="abandoned", error="over the limit: split")
        self._check_piece(piece)
        self._say(self._why_split(source.name, source.size, piece))
        return self._push_split(source, folder_path, piece)

    def _say(self, text: str | None) -> None:
        if text:
            self.uploader.emit(Notice(text))

    def _split_again(
        self, source: Source, folder_path: str, piece: int, exc: TooSlow
    ) -> PushResult:
        """A whole upload stopped before it expired: the file read again from its start, in
        pieces that finish in time (or `exc`, when its bytes cannot be read again)."""
        if source.path is None:
            raise exc  # a stream held in memory and partly read: it is gone
        again = open_file(source.path, source.name)
        again.spooled, again.sha512 = source.spooled, source.sha512
        self._say(self._why_split(source.name, source.size, piece))
        try:
            return self._push_split(again, folder_path, piece)
        finally:
            source.keep = again.keep  # a spool that resume reads stays
            again.close()

    def resume(self, entry: PushEntry, source: Source | None = None) -> PushResult:
        """Finish a journalled push; a split file's pieces and manifest, each as needed.

        A whole push that has to start over (its upload expired or was never made) and that
        would expire again at the measured pace, or is over the limit, is pushed again in
        pieces that fit (its input read again), not repeated.
        """
        if entry.mode != "split":
            try:
                return self.uploader.resume(entry, source)
            except LimitError:  # over the limit, or TooSlow: started over, it would fail again
                piece = self.piece_size(entry.size)
                if piece is None or piece >= entry.size or entry.parent_id is not None:
                    raise
                return self._resplit(entry, source, piece)
        if source is not None:
            return self._resume_split(entry, source)
        whole = self.uploader.reopen(entry)
        try:
            return self._resume_split(entry, whole)
        finally:
            whole.close()

    # -- a stream in volumes ----------------------------------------------------------------
    def stream_volume_size(self) -> int:
        """The volume a stream of unknown length is cut into: the setting, or less where
        --split or the workspace's limit (waited for) says so."""
        limit = self.uploader.max_file_size
        return min(v for v in (self.volume_size, self.split_size, limit, self.in_time()) if v)

    def _push_stream(self, source: Source, folder_path: str) -> PushResult:
        """Cut the stream into volumes as it is read, each uploaded while the next is read.

        A stream that ends within its first volume is an ordinary file (its volume a spooled
        stream's spool file); a longer one is a split file whose pieces are the volumes.
        """
        journal = self.uploader.journal
        if journal is not None:  # the spool a killed run left behind goes first
            sweep(source.spool_dir, {os.path.abspath(p) for p in journal.files_in_use()})
        reader = VolumeReader(source.stream, self.stream_volume_size(), source.spool_dir)
        try:
            volumes = iter(reader)
            first = next(volumes)
            if first.last:
                single = reader.adopt(first, source.name)
                try:
                    return self.push(single, folder_path)
                finally:
                    single.close()  # the spool goes, unless kept for resume
            return self._push_volumes(source.name, folder_path, reader, first, volumes)
        finally:
            reader.close()

    def _push_volumes(
        self,
        name: str,
        folder_path: str,
        reader: VolumeReader,
        first: Volume,
        rest: Iterator[Volume],
    ) -> SplitResult:
        up = self.uploader
        self._ensure_flag()
        # A re-run of a pipeline cut short: the split row whose first piece has these bytes.
        entry = self._unfinished_stream(name, reader.volume_size, first)
        children = (
            {c.name: c for c in up.journal.children(entry.id)} if entry and up.journal else {}
        )
        whole_id = entry.id if entry else self._start_stream(name, folder_path, reader)
        if entry is not None:
            up.emit(
                Notice(
                    f"finishing the unfinished push of {name} (journal entry {entry.id}) "
                    "with the pieces it recorded"
                )
            )
        pieces: list[PushResult] = []
        reused = 0
        try:
            for volume in itertools.chain([first], rest):
                if up.cancel.is_set():
                    raise Interrupted("interrupted")
                piece_name = f"{name}.part{volume.number:03d}"
                earlier = children.get(piece_name)
                same = earlier is not None and (earlier.sha512, earlier.size) == (
                    volume.sha512,
                    volume.size,
                )
                reused += same
                pieces.append(
                    self._push_volume(volume, piece_name, whole_id, earlier if same else None)
                )
                reader.done(volume)
            whole = (name, reader.total)
            manifest = children.get(name + MANIFEST_SUFFIX) if reused == len(pieces) else None
            result = self._push_manifest(whole, folder_path, pieces, whole_id, manifest)
        except NotionUpError as exc:
            left = (
                f"{len(pieces)} volume(s) of {name} are recorded as hidden pieces; the stream "
                "is gone, so run the same pipeline again: it reuses them and records the rest"
            )
            exc.hint = f"{exc.hint}; {left}" if exc.hint else left
            raise
        # No digest of the whole stream: a second SHA-512 pass over every byte, while the
        # pieces' own (and the manifest) are what pull and verify check.
        return self._finish_whole(whole, whole_id, None, result, pieces)

    def _push_volume(
        self, volume: Volume, name: str, whole_id: int | None, earlier: PushEntry | None
    ) -> PushResult:
        """One volume as a hidden piece (or the journalled push of these same bytes, finished)."""
        up = self.uploader
        if earlier is not None and earlier.state == "done":
            return result_of(earlier)
        piece = open_file(volume.path, name)
        piece.spooled, piece.sha512 = True, volume.sha512
        try:
            if earlier is not None and earlier.state in ("created", "uploaded", "paged"):
                return up.resume(earlier, piece)
            return up.push(piece, "/", is_visible=False, parent=whole_id)
        finally:
            piece.close()

    def _unfinished_stream(self, name: str, volume_size: int, first: Volume) -> PushEntry | None:
        journal = self.uploader.journal
        if journal is None:
            return None
        for entry in journal.unfinished_streams(name, volume_size, self.uploader.workspace):
            firsts = [c for c in journal.children(entry.id) if c.name == f"{name}.part001"]
            if any((c.sha512, c.size) == (first.sha512, first.size) for c in firsts):
                return entry
        return None

    def _start_stream(self, name: str, folder_path: str, reader: VolumeReader) -> int | None:
        """The split stream's journal row (its size and count are filled in at the end)."""
        up = self.uploader
        if up.journal is None:
            return None
        return up.journal.start(
            name=name,
            source_path=None,
            size=-1,
            mtime=None,
            spooled=0,
            folder_path=folder_path,
            **up.facts.journal_fields(),
            workspace=up.workspace,
            mode="split",
            part_size=reader.volume_size,
            part_count=0,
            upload_name=name + MANIFEST_SUFFIX,
            content_type="application/json",
            salt="",
        )

    def _resplit(self, entry: PushEntry, source: Source | None, piece: int) -> PushResult:
        up = self.uploader
        whole = source or up.reopen(entry)
        self._say(self._why_split(entry.name, entry.size, piece))
        try:
            result = self._push_split(whole, entry.folder_path, piece)
        finally:
            if source is None:
                whole.close()
        if entry.spooled and entry.source_path and not whole.keep:
            with contextlib.suppress(OSError):
                os.unlink(entry.source_path)  # the old push's spool: its bytes are stored
        return result

    def _check_piece(self, piece: int) -> None:
        limit = self.uploader.max_file_size
        if limit is not None and piece > limit:
            raise LimitError(
                f"--split {piece} is over this workspace's limit of {limit} bytes per file",
                hint=f"use --split {limit} or less",
            )

    def _why_split(self, name: str, size: int, piece: int) -> str | None:
        """The one notice line of a split that --split did not ask for."""
        count = len(piece_lengths(size, piece))
        if count > MAX_PARTS:
            raise TooSlow(
                f"{name}: at the measured {human_bytes(int(self.uploader.pace.rate or 0))}/s "
                f"per connection it would take more than {MAX_PARTS} uploads that each finish "
                "before Notion expires them",
                hint="push it from a faster link",
            )
        stored = f"storing it as {count} pieces and a manifest"
        if piece == self.split_size:
            return None  # as --split asked
        limit = self.uploader.max_file_size
        if limit is not None and size > limit and piece == limit:
            return (
                f"{name} is {human_bytes(size)}, over this workspace's limit of "
                f"{human_bytes(limit)} per file: {stored} (--no-split refuses such files instead)"
            )
        pace = self.uploader.pace
        return (
            f"{name}: one upload of {human_bytes(size)} would not finish before Notion expires "
            f"it ({int(pace.window)} s) at the measured {human_bytes(int(pace.rate or 0))}/s "
            f"per connection: {stored} of {human_bytes(piece)}"
        )

    def _start_whole(self, source: Source, folder_path: str, piece: int, count: int) -> int | None:
        """The split file's own journal row, written before its first piece (a crash at any
        point leaves it for `resume` or a re-run to find)."""
        journal = self.uploader.journal
        if not journal or not source.path:
            return None
        return journal.start(
            **self.uploader.source_row(source, folder_path),
            mode="split",
            part_size=piece,
            part_count=count,
            upload_name=source.name + MANIFEST_SUFFIX,
            content_type="application/json",
            salt="",
        )

    def _push_split(self, source: Source, folder_path: str, piece_size: int) -> SplitResult:
        lengths = piece_lengths(source.size, piece_size)
        names = piece_names(source.name, len(lengths))
        pieces: list[PushResult] = []
        # Before any piece goes up: a database that cannot take the flag leaves nothing behind.
        self._ensure_flag()
        whole_id = self._start_whole(source, folder_path, piece_size, len(lengths))
        # The whole content's digest, so a later --skip-existing recognises the whole file.
        whole = HashingStream(source.stream)
        offset = 0
        try:
            for length, name in zip(lengths, names, strict=True):
                if self.uploader.cancel.is_set():
                    raise Interrupted("interrupted")
                piece = slice_source(source, length, name, stream=whole, offset=offset)
                # At the root, as the service stores pieces (they must not move with folders).
                pieces.append(self.uploader.push(piece, "/", is_visible=False, parent=whole_id))
                offset += length
            source.check_end()
            whole_size = (source.name, source.size)
            result = self._push_manifest(whole_size, folder_path, pieces, whole_id, None)
        except NotionUpError as exc:
            if source.spooled and whole_id is not None:
                source.keep = True  # resume reads the spool file again
            if pieces:
                left = f"{len(pieces)} piece(s) stored as hidden rows no manifest refers to"
                exc.hint = f"{exc.hint}; {left}" if exc.hint else left
            raise
        if source.spooled:
            source.keep = False
        return self._finish_whole(whole_size, whole_id, whole.hexdigest(), result, pieces)

    def _resume_split(self, entry: PushEntry, source: Source) -> SplitResult:
        """Finish a split push: pieces already recorded are kept, the rest finished or pushed,
        then the manifest the same way. Each piece is read from its place in the file."""
        up = self.uploader
        assert up.journal is not None and source.path is not None
        self._ensure_flag()
        children = up.journal.children(entry.id)
        done = {c.name: c for c in children if c.state == "done"}
        open_rows = {c.name: c for c in children if c.state in ("created", "uploaded", "paged")}
        lengths = piece_lengths(entry.size, entry.part_size)
        names = piece_names(entry.name, len(lengths))
        pieces: list[PushResult] = []
        offset = 0
        for length, name in zip(lengths, names, strict=True):
            if up.cancel.is_set():
                raise Interrupted("interrupted")
            if name in done:
                pieces.append(result_of(done[name]))
            else:
                piece = open_piece(source.path, offset, length, name, entry.mtime)
                try:
                    if name in open_rows:
                        pieces.append(up.resume(open_rows[name], piece))
                    else:
                        pieces.append(up.push(piece, "/", is_visible=False, parent=entry.id))
                finally:
                    piece.close()
            offset += length
        manifest_name = entry.name + MANIFEST_SUFFIX
        manifest_row = done.get(manifest_name) or open_rows.get(manifest_name)
        whole = (source.name, source.size)
        result = self._push_manifest(whole, entry.folder_path, pieces, entry.id, manifest_row)
        sha512 = file_sha512(source.path)
        if source.spooled:
            source.keep = False
        return self._finish_whole(whole, entry.id, sha512, result, pieces)

    def _push_manifest(
        self,
        whole: tuple[str, int],
        folder_path: str,
        pieces: list[PushResult],
        whole_id: int | None,
        row: PushEntry | None,
    ) -> PushResult:
        """Push the manifest naming `pieces` (or finish, or reuse, its journalled push)."""
        name, size = whole
        manifest = Manifest(
            name,
            size,
            [
                ManifestPart(
                    part_number=n,
                    filename=p.name,
                    file_id=p.file_id,
                    file_hash=p.hash.salted,
                    size=p.size,
                )
                for n, p in enumerate(pieces, 1)
            ],
        )
        if row is not None and row.state == "done":
            return result_of(row)
        data = bytearray(manifest.to_bytes())
        stored = Source(name=name + MANIFEST_SUFFIX, size=len(data), stream=BufferStream(data))
        if row is not None:
            return self.uploader.resume(row, stored, whole=whole)
        return self.uploader.push(
            stored, folder_path, is_manifest=True, parent=whole_id, whole=whole
        )

    def _finish_whole(
        self,
        whole: tuple[str, int],
        whole_id: int | None,
        sha512: str | None,
        result: PushResult,
        pieces: list[PushResult],
    ) -> SplitResult:
        """The whole file's row done (pointing at its manifest's records); the result."""
        journal = self.uploader.journal
        if journal and whole_id is not None:
            journal.update(
                whole_id,
                state="done",
                sha512=sha512,
                upload_id=result.file_upload_id,
                page_id=result.file_id,
                index_id=result.index_id,
                salt=result.hash.salt,
                salted=result.hash.salted,
                size=whole[1],
                part_count=len(pieces),
            )
        return SplitResult(
            **{f: getattr(result, f) for f in PushResult.__dataclass_fields__},
            original_name=whole[0],
            total_size=whole[1],
            pieces=pieces,
        )

    def _ensure_flag(self) -> None:
        """Give the file database its `is_manifest` checkbox, once a run (ConfigError if not)."""
        with self._flag_lock:
            if self._flag_error is not None:
                raise self._flag_error
            if self._has_flag:
                return
            try:
                up = self.uploader
                added = ensure_manifest_property(up.client, up.databases.files_data_source)
            except ConfigError as exc:
                self._flag_error = exc
                raise
            if added:
                self.uploader.emit(Notice("added the is_manifest checkbox to the file database"))
            self._has_flag = True


def result_of(entry: PushEntry) -> PushResult:
    """A finished push as a result, from its journal row (a piece or manifest kept on resume)."""
    plan = PartPlan(
        size=entry.size, mode=entry.mode, part_size=entry.part_size, count=entry.part_count
    )
    upload = UploadName(entry.name, entry.upload_name, entry.content_type)
    content = ContentHash(entry.sha512 or "", entry.salt or "", entry.salted or "")
    return PushResult(
        name=entry.name,
        size=entry.size,
        file_id=entry.page_id or "",
        file_upload_id=entry.upload_id or "",
        index_id=entry.index_id or "",
        hash=content,
        plan=plan,
        upload=upload,
        seconds=0.0,
        retries=0,
        folder_path=entry.folder_path,
    )
