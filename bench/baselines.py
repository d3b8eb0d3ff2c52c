"""The two floors of the loopback scenario, each as small as it can be.

    python bench/baselines.py hash FILE
        H: SHA-512 of the file, read in 1 MiB chunks into one reused buffer.
    python bench/baselines.py send FILE --url URL --token TOKEN [--workers 4] [--part-size B]
        S: a minimal sender: create a multi_part upload, post every part from a thread pool as
        multipart/form-data whose file bytes go to the socket without a copy, complete. No
        hashing, no progress, no retries, no records.

Each prints one JSON line with its own "seconds" (interpreter start-up excluded).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

CHUNK = 1024 * 1024
HEADERS = {"Notion-Version": "2025-09-03"}


def hash_file(path: str) -> dict:
    started = time.monotonic()
    digest = hashlib.sha512()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(view):
            digest.update(view[:n])
    return {"seconds": round(time.monotonic() - started, 3), "sha512": digest.hexdigest()}


class Form:
    """multipart/form-data with a known length; the part buffer is yielded as a memoryview."""

    def __init__(self, data: memoryview, part_number: int) -> None:
        b = secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={b}"
        self.head = (
            f'--{b}\r\nContent-Disposition: form-data; name="part_number"\r\n\r\n{part_number}\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="bench.bin.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{b}--\r\n".encode()
        self.data = data

    def __len__(self) -> int:
        return len(self.head) + self.data.nbytes + len(self.tail)

    def __iter__(self):
        yield self.head
        yield self.data
        yield self.tail


def send_file(path: str, url: str, token: str, workers: int, part_size: int) -> dict:
    started = time.monotonic()
    size = os.path.getsize(path)
    parts = math.ceil(size / part_size)
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.s.headers.update(HEADERS, Authorization=f"Bearer {token}")
        return local.s

    create = {
        "mode": "multi_part",
        "number_of_parts": parts,
        "filename": "bench.bin.txt",
        "content_type": "text/plain",
    }
    r = session().post(f"{url}/v1/file_uploads", json=create, timeout=60)
    r.raise_for_status()
    upload_id = r.json()["id"]
    fd = os.open(path, os.O_RDONLY)

    def send(number: int) -> None:
        offset = (number - 1) * part_size
        buffer = bytearray(min(part_size, size - offset))
        view = memoryview(buffer)
        got = 0
        while got < len(buffer):
            got += os.preadv(fd, [view[got:]], offset + got)
        form = Form(view, number)
        resp = session().post(
            f"{url}/v1/file_uploads/{upload_id}/send",
            data=form,
            headers={"Content-Type": form.content_type},
            timeout=120,
        )
        resp.raise_for_status()

    try:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(send, range(1, parts + 1)))
    finally:
        os.close(fd)
    r = session().post(f"{url}/v1/file_uploads/{upload_id}/complete", timeout=60)
    r.raise_for_status()
    return {"seconds": round(time.monotonic() - started, 3), "parts": parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["hash", "send"])
    parser.add_argument("file")
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--part-size", type=int, default=5 * 1024 * 1024)
    args = parser.parse_args()
    if args.what == "hash":
        result = hash_file(args.file)
    else:
        result = send_file(args.file, args.url, args.token, args.workers, args.part_size)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
