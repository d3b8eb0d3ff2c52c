"""What a user would write instead of notion-up: the official Python SDK, the way its docs show.

Create a multi_part upload, send the parts one after another, complete it, then write the same
file page and index entry notion-up writes (the property builders come from
notion_up.notion.records so the work is identical). Prints one JSON line:
{"seconds", "parts", "file_upload_id", "page_id"}.

    python bench/sdk_upload.py FILE --url URL --token TOKEN --files-data-source ID \
        --index-data-source ID --user-database ID [--part-size BYTES]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
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
    record = FileRecord(name, size, upload["id"], travel.upload_name, content)
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


if __name__ == "__main__":
    main()
