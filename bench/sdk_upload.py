"""What a user would write instead of notion-up: the official Python SDK, the way its docs show.

Create a multi_part upload, send the parts one after another, complete it, then write the same
file page and index entry notion-up writes (the property builders come from
notion_up.notion.records so the work is identical). Prints one JSON line:
{"seconds", "parts", "page_id"} ({"ok": false, "failed": N} when parts failed).

With `--concurrent`, the SDK's own concurrent example instead
(examples/file_uploads/create_file_uploads_multi.py in ramnes/notion-sdk-py): the file is split
into part files on disk first (it uses filesplit; the bytes are hashed as they are split), then
`ThreadPoolExecutor(max_workers=min(5, parts))` sends each part file (`file=f`, the open file);
a part that fails fails the upload (the example prints the failures and stops). The SDK's own
retries (notion-client's defaults) are all it has.

    python bench/sdk_upload.py FILE --url URL --token TOKEN --files-data-source ID \
        --index-data-source ID --user-database ID [--part-size BYTES] [--concurrent]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import math
import os
import shutil
import tempfile
import time

from notion_client import Client

from notion_up.notion.filetypes import upload_name
from notion_up.notion.records import (
    FileRecord,
    file_page_properties,
    hash_content,
    index_properties,
)

SINGLE_PART_MAX = 20 * 1000 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--files-data-source", required=True)
    parser.add_argument("--index-data-source", required=True)
    parser.add_argument("--user-database", required=True)
    parser.add_argument("--part-size", type=int, default=5 * 1024 * 1024)
    parser.add_argument("--concurrent", action="store_true", help="the SDK's concurrent example")
    args = parser.parse_args()

    started = time.monotonic()
    notion = Client(auth=args.token, base_url=args.url)
    name = os.path.basename(args.file)
    travel = upload_name(name)
    size = os.path.getsize(args.file)
    multi = size > SINGLE_PART_MAX
    parts = math.ceil(size / args.part_size) if multi else 1
    create = {"mode": "multi_part", "number_of_parts": parts} if multi else {"mode": "single_part"}
    upload = notion.file_uploads.create(
        filename=travel.upload_name, content_type=travel.content_type, **create
    )

    digest = hashlib.sha512()
    if args.concurrent and multi:
        failed = send_concurrently(notion, upload["id"], args.file, args.part_size, digest)
        if failed:
            seconds = time.monotonic() - started
            print(json.dumps({"seconds": round(seconds, 3), "parts": parts, "ok": False,
                              "failed": failed}))  # fmt: skip
            return
    else:
        with open(args.file, "rb") as f:
            for number in range(1, parts + 1):
                data = f.read(args.part_size if multi else size)
                digest.update(data)
                part = {"part_number": str(number)} if multi else {}
                notion.file_uploads.send(
                    file_upload_id=upload["id"],
                    file=(travel.upload_name, data, travel.content_type),
                    **part,
                )
    if multi:
        notion.file_uploads.complete(file_upload_id=upload["id"])

    content = hash_content(digest.hexdigest())
    record = FileRecord(
        name=name,
        size=size,
        file_upload_id=upload["id"],
        upload_name=travel.upload_name,
        hash=content,
    )
    page = notion.pages.create(
        parent={"type": "data_source_id", "data_source_id": args.files_data_source},
        properties=file_page_properties(record),
    )
    notion.pages.create(
        parent={"type": "data_source_id", "data_source_id": args.index_data_source},
        properties=index_properties(record, page["id"], args.user_database),
    )
    seconds = time.monotonic() - started
    print(json.dumps({"seconds": round(seconds, 3), "parts": parts, "page_id": page["id"]}))


def send_concurrently(
    notion: Client, upload_id: str, path: str, part_size: int, digest: hashlib._Hash
) -> int:
    """The example's way: split to part files, then send them from min(5, parts) threads;
    returns how many parts failed."""
    folder = tempfile.mkdtemp(prefix="sdk-split-", dir=os.path.dirname(path))
    try:
        files = []
        with open(path, "rb") as f:
            while chunk := f.read(part_size):
                digest.update(chunk)
                files.append(os.path.join(folder, f"part_{len(files) + 1}"))
                with open(files[-1], "wb") as out:
                    out.write(chunk)

        def upload_part(number: int, part_path: str) -> bool:
            try:
                with open(part_path, "rb") as f:
                    notion.file_uploads.send(
                        file_upload_id=upload_id, file=f, part_number=str(number)
                    )
            except Exception:
                return False
            return True

        with concurrent.futures.ThreadPoolExecutor(max_workers=min(5, len(files))) as pool:
            futures = [pool.submit(upload_part, n, p) for n, p in enumerate(files, 1)]
            return sum(not f.result() for f in concurrent.futures.as_completed(futures))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
