"""The File Upload API: create, send (a part), complete, retrieve, list; expiry and hashes."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from .errors import MISSING, bad, invalid, not_found, too_big
from .filetypes import UNSUPPORTED_EXTENSION, check_file_type, check_sent_type, mime_essence
from .limits import (
    BOT_ID,
    CHUNK,
    FREE_PLAN_LIMIT,
    MAX_FILENAME_BYTES,
    MAX_PARTS,
    PART_MAX,
    PART_MIN,
    SINGLE_PART_LIMIT,
)
from .options import ServerOptions
from .queries import paginate, parse_page_size
from .store import Store
from .values import iso_time, norm_id, to_minute
from .wire import FormParser


def _cut(now: float, window: float) -> float:
    """`now` cut as Notion cuts an upload's creation time: to the minute, for the hour."""
    grain = min(60.0, window / 60)
    return now - now % grain if grain > 0 else now


class Uploads:
    """File uploads in the store; every method takes the store's lock itself where needed."""

    def __init__(self, store: Store, options: ServerOptions, base_url: Callable[[], str]) -> None:
        self._store = store
        self._lock = store.lock
        self.options = options
        self._base_url = base_url

    def known(self, upload_id: str) -> dict:
        """The upload (dashed or not); KeyError if unknown (for the admin endpoints)."""
        u = self._store.objects["upload"].get(norm_id(upload_id) or upload_id)
        if u is None:
            raise KeyError(upload_id)
        return u

    def summary(self) -> list[dict]:
        """Every upload's mode, status, name, type and part sizes (for the stats)."""
        now = time.time()
        with self._lock:
            return [
                {
                    "id": u["id"],
                    "mode": u["mode"],
                    "status": self.status(u, now),
                    "filename": u["filename"],
                    "content_type": u["content_type"],
                    "part_sizes": [u["parts"][k] for k in sorted(u["parts"], key=int)],
                    "content_length": u["content_length"],
                }
                for u in sorted(self._store.objects["upload"].values(), key=lambda x: x["seq"])
            ]

    def get(self, upload_id: str) -> dict:
        u = self._store.objects["upload"].get(upload_id)
        if u is None:
            raise not_found("file upload", upload_id)  # wording UNCONFIRMED
        return u

    def status(self, u: dict, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if u["status"] in ("pending", "uploaded") and not u["attached"] and now >= u["expiry"]:
            return "expired"
        return u["status"]

    def render(self, u: dict) -> dict:
        status = self.status(u)
        out: dict = {
            "object": "file_upload",
            "id": u["id"],
            "created_time": iso_time(to_minute(u["created"])),  # cut to the minute, as recorded
            "created_by": {"id": BOT_ID, "type": "bot"},
            "last_edited_time": iso_time(to_minute(u["edited"])),
            # null once attached, and (as recorded) once expired
            "expiry_time": None if u["attached"] or status == "expired" else iso_time(u["expiry"]),
        }
        if status == "pending":
            out["upload_url"] = f"{self._base_url()}/v1/file_uploads/{u['id']}/send"
            if u["mode"] == "multi_part" and "1" in u["parts"]:
                # recorded: no complete_url in the create's answer; it appears once part 1 is sent
                out["complete_url"] = f"{self._base_url()}/v1/file_uploads/{u['id']}/complete"
        out["in_trash"] = False
        out["status"] = status
        out["filename"] = u["filename"]
        out["content_type"] = u["content_type"]
        out["content_length"] = u["content_length"]
        if u["mode"] == "multi_part":
            out["number_of_parts"] = {"total": u["total_parts"], "sent": len(u["parts"])}
        out["archived"] = False
        return out

    def create(self, body: dict) -> dict:
        opts = self.options
        mode = body.get("mode", "single_part")
        if mode not in ("single_part", "multi_part", "external_url"):
            raise bad(
                "body.mode", 'should be one of "single_part", "multi_part", "external_url"', mode
            )
        if mode == "external_url":
            raise invalid(
                "mode `external_url` is not supported by the local Notion server "
                "(it cannot fetch URLs)."
            )
        parts = body.get("number_of_parts", MISSING)
        if mode == "single_part":
            if parts is not MISSING and parts is not None:
                # UNCONFIRMED wording
                raise invalid("number_of_parts can only be provided when mode is `multi_part`.")
            total = None
        else:
            if parts is MISSING or parts is None:
                raise bad("body.number_of_parts", "should be defined", MISSING)
            if not isinstance(parts, int) or isinstance(parts, bool):
                raise bad("body.number_of_parts", "should be an integer", parts)
            if parts < 1:
                raise bad("body.number_of_parts", "should be ≥ `1`", parts)
            if parts > MAX_PARTS:
                raise bad("body.number_of_parts", f"should be ≤ `{MAX_PARTS}`", parts)
            if opts.max_file_upload_size <= FREE_PLAN_LIMIT:
                # UNCONFIRMED wording: multi-part needs a paid plan (README §3.1)
                raise invalid(
                    "Multi-part uploads are not available for this workspace's plan; the "
                    f"limit is {opts.max_file_upload_size} bytes per file."
                )
            total = parts
        filename = body.get("filename")
        if filename is not None and not isinstance(filename, str):
            raise bad("body.filename", "should be a string", filename)
        if mode == "multi_part" and not filename:
            raise bad("body.filename", "should be defined", MISSING)
        content_type = body.get("content_type")
        if content_type is not None and not isinstance(content_type, str):
            raise bad("body.content_type", "should be a string", content_type)
        filename, content_type = check_file_type(filename, mime_essence(content_type))
        now = time.time()
        with self._lock:
            u = {
                "id": str(uuid.uuid4()),
                "seq": self._store.next_seq(),
                "mode": mode,
                "filename": filename,
                "content_type": content_type,
                "created": now,
                "edited": now,
                # recorded: the created minute plus exactly the window (up to 59 s less than
                # created + window); a window shortened for tests is cut in proportion (a
                # sixtieth of it), so that it is never gone before the upload is made
                "expiry": _cut(now, float(opts.expiry_seconds)) + float(opts.expiry_seconds),
                "attached": False,
                "status": "pending",
                "total_parts": total,
                "parts": {},
                "content_length": None,
                "sha512": None,
            }
            self._store.put("upload", u)
            return self.render(u)

    def retrieve(self, upload_id: str) -> dict:
        with self._lock:
            return self.render(self.get(upload_id))

    def list_all(self, query: dict) -> dict:
        status = (query.get("status") or [None])[-1]
        if status is not None and status not in ("pending", "uploaded", "expired", "failed"):
            raise invalid(
                "query failed validation: query.status should be one of "
                f'"pending", "uploaded", "expired", "failed", instead was `"{status}"`.'
            )
        page_size = parse_page_size((query.get("page_size") or [None])[-1], "query.page_size")
        cursor = (query.get("start_cursor") or [None])[-1]
        now = time.time()
        with self._lock:
            items = sorted(self._store.objects["upload"].values(), key=lambda u: -u["seq"])
            if status is not None:
                items = [u for u in items if self.status(u, now) == status]
            results, next_cursor = paginate(items, cursor, page_size)
            rendered = [self.render(u) for u in results]
        return {
            "object": "list",
            "results": rendered,
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
            "type": "file_upload",
            "file_upload": {},
        }

    def check_sendable(self, u: dict) -> None:
        status = self.status(u)
        if status == "expired":
            raise invalid(f"The file upload with ID {u['id']} is expired.")  # UNCONFIRMED
        if status != "pending":
            # README §1.2: "FileUpload not in the `pending` status" is a documented 400
            raise invalid(
                f"File upload {u['id']} is in the `{status}` status; only `pending` uploads "
                "accept file contents."
            )

    def install_part(self, upload_id: str, form: FormParser, tmp: Path) -> dict:
        opts = self.options
        if not form.file_seen:
            raise bad("body.file", "should be defined", MISSING)
        size = form.file_size
        part_raw = form.fields.get("part_number")
        with self._lock:
            u = self.get(upload_id)
            self.check_sendable(u)
            if u["mode"] == "single_part":
                if part_raw is not None:
                    # UNCONFIRMED: Notion may ignore it; refusing catches client bugs
                    raise invalid("part_number can only be provided for `multi_part` uploads.")
                part = 1
                if size > opts.max_file_upload_size:
                    raise too_big(size, opts.max_file_upload_size)
                if size > SINGLE_PART_LIMIT:
                    raise invalid(  # UNCONFIRMED wording; docs: "content length greater than 20MB"
                        f"The file is {size} bytes, more than the {SINGLE_PART_LIMIT} byte limit "
                        "of a single_part upload; use mode `multi_part`."
                    )
                filename, content_type = u["filename"], u["content_type"]
                sent_type = mime_essence(form.file_type)
                if sent_type == "application/octet-stream":
                    sent_type = None
                if filename is None and form.file_name:
                    if len(form.file_name.encode()) > MAX_FILENAME_BYTES:
                        raise bad(
                            "body.file.filename.length",
                            f"should be ≤ `{MAX_FILENAME_BYTES}`",
                            len(form.file_name.encode()),
                        )
                    filename, inferred = check_file_type(form.file_name, content_type or sent_type)
                    content_type = content_type or inferred
                if content_type is None and sent_type is not None:
                    _, content_type = check_file_type(None, sent_type)
                if content_type is None:
                    raise invalid(UNSUPPORTED_EXTENSION)
                check_sent_type(sent_type, content_type)
            else:
                total = u["total_parts"]
                if part_raw is None:
                    raise bad("body.part_number", "should be defined", MISSING)
                try:
                    part = int(part_raw.strip())
                except ValueError:
                    raise bad("body.part_number", "should be an integer", part_raw) from None
                if part < 1 or part > total:
                    raise bad(  # UNCONFIRMED wording
                        "body.part_number", f"should be between 1 and {total}", part
                    )
                if size > PART_MAX or (part < total and size < PART_MIN):
                    raise invalid(  # UNCONFIRMED wording
                        f"Part {part} is {size} bytes; every part must be at most {PART_MAX} "
                        f"bytes and every part except the last at least {PART_MIN} bytes."
                    )
                others = sum(v for k, v in u["parts"].items() if int(k) != part)
                if others + size > opts.max_file_upload_size:
                    raise too_big(others + size, opts.max_file_upload_size)
                check_sent_type(mime_essence(form.file_type), u["content_type"], lenient=True)
                filename, content_type = u["filename"], u["content_type"]
            os.replace(tmp, self._store.part_path(upload_id, part))
            u["parts"][str(part)] = size
            u["filename"], u["content_type"] = filename, content_type
            u["edited"] = time.time()
            u["sha512"] = None
            if u["mode"] == "single_part":
                u["status"] = "uploaded"
                u["content_length"] = size
            else:
                u["content_length"] = sum(u["parts"].values())
            self._store.put("upload", u)
            return self.render(u)

    def complete(self, upload_id: str) -> dict:
        opts = self.options
        with self._lock:
            u = self.get(upload_id)
            if u["mode"] != "multi_part":
                # UNCONFIRMED (README §1.3): complete is for multi_part uploads only
                raise invalid(
                    f"File upload {upload_id} is not a `multi_part` upload; only multi_part "
                    "uploads can be completed."
                )
            self.check_sendable(u)
            total = u["total_parts"]
            missing = [n for n in range(1, total + 1) if str(n) not in u["parts"]]
            if missing:
                shown = ", ".join(str(n) for n in missing[:10]) + (
                    ", …" if len(missing) > 10 else ""
                )
                raise invalid(  # UNCONFIRMED wording
                    f"Expected {total} parts but {len(missing)} part(s) have not been sent "
                    f"(missing part_number: {shown})."
                )
            size = sum(u["parts"].values())
            if size > opts.max_file_upload_size:
                raise too_big(size, opts.max_file_upload_size)
            u["status"] = "uploaded"
            u["content_length"] = size
            u["edited"] = time.time()
            self._store.put("upload", u)
            return self.render(u)

    def part_files(self, u: dict) -> list[tuple[Path, int]]:
        keys = sorted(u["parts"], key=int)
        return [(self._store.part_path(u["id"], int(k)), u["parts"][k]) for k in keys]

    def sha512(self, upload_id: str) -> str:
        """SHA-512 (hex) of the upload's bytes, parts in order; raises KeyError if unknown."""
        with self._lock:
            u = self.known(upload_id)
            if u.get("sha512"):
                return u["sha512"]
            files = self.part_files(u)
            parts_seen = dict(u["parts"])
        digest = hashlib.sha512()
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        try:
            for path, _ in files:
                with open(path, "rb", buffering=0) as fh:
                    while True:
                        got = fh.readinto(buf)
                        if not got:
                            break
                        digest.update(view[:got])
        finally:
            view.release()
        hexdigest = digest.hexdigest()
        with self._lock:
            if u["status"] == "uploaded" and u["parts"] == parts_seen:
                u["sha512"] = hexdigest
                self._store.put("upload", u)
        return hexdigest

    def corrupt(self, upload_id: str, offset: int = 0) -> None:
        """Flip the bits of one stored byte (at `offset` of the assembled file)."""
        with self._lock:
            u = self.known(upload_id)
            start = 0
            for path, size in self.part_files(u):
                if start <= offset < start + size:
                    with open(path, "r+b") as fh:
                        fh.seek(offset - start)
                        byte = fh.read(1)
                        fh.seek(offset - start)
                        fh.write(bytes([byte[0] ^ 0xFF]))
                    u["sha512"] = None
                    self._store.put("upload", u)
                    return
                start += size
            raise ValueError(f"offset {offset} is beyond the upload's {start} bytes")

    def expire(self, upload_id: str) -> None:
        """Move the upload's expiry to now (an unattached upload then reports `expired`)."""
        with self._lock:
            u = self.known(upload_id)
            u["expiry"] = time.time() - 0.001
            self._store.put("upload", u)
