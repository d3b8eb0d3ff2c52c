"""A stream cut into volumes as it is read: sizes, digests, two on disk at most, overlap."""

from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest

from notion_up.errors import InputError
from notion_up.upload.volumes import VolumeReader, sweep

WAIT = 10  # a broken reader fails the test instead of hanging it


def stream_of(size: int) -> io.BytesIO:
    return io.BytesIO(hashlib.shake_256(b"volumes").digest(size))


def read_all(reader: VolumeReader) -> list[tuple[int, int, int, bool, bytes]]:
    seen = []
    for volume in reader:
        with open(volume.path, "rb") as f:
            data = f.read()
        assert hashlib.sha512(data).hexdigest() == volume.sha512
        assert oct(os.stat(volume.path).st_mode & 0o777) == "0o600"
        seen.append((volume.number, volume.offset, volume.size, volume.last, data))
        reader.done(volume)
        assert not os.path.exists(volume.path)
    return seen


@pytest.mark.parametrize(
    ("total", "sizes"),
    [(25, [10, 10, 5]), (30, [10, 10, 10]), (7, [7]), (10, [10]), (0, [0])],
)
def test_a_stream_is_cut_into_volumes_that_add_up_to_it(tmp_path, total, sizes):
    source = stream_of(total)
    reader = VolumeReader(source, 10, str(tmp_path))
    try:
        seen = read_all(reader)
    finally:
        reader.close()
    assert [s[2] for s in seen] == sizes
    assert [s[0] for s in seen] == list(range(1, len(sizes) + 1))
    assert [s[1] for s in seen] == [sum(sizes[:i]) for i in range(len(sizes))]
    assert [s[3] for s in seen] == [False] * (len(sizes) - 1) + [True]
    whole = source.getvalue()
    assert b"".join(s[4] for s in seen) == whole
    assert reader.total == total
    assert os.listdir(tmp_path) == []


def test_never_more_than_two_volumes_are_on_disk(tmp_path):
    reader = VolumeReader(stream_of(95), 10, str(tmp_path))
    on_disk = []
    try:
        for volume in reader:
            on_disk.append(len(os.listdir(tmp_path)))
            reader.done(volume)
    finally:
        reader.close()
    assert max(on_disk) <= 2 and reader.peak_on_disk == 2
    assert len(on_disk) == 10


def test_the_first_volume_is_handed_over_while_the_stream_is_still_being_read(tmp_path):
    """Reading overlaps sending: volume 1 comes out before the stream's end is read."""
    first_out = threading.Event()

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, target) -> int:
            if self.sent >= 15:
                # The rest of the stream comes only once volume 1 is out.
                assert first_out.wait(WAIT), "volume 1 was held until the stream ended"
                if self.sent >= 30:
                    return 0
            n = min(len(target), 5)
            target[:n] = b"x" * n
            self.sent += n
            return n

    reader = VolumeReader(Pipe(), 10, str(tmp_path))
    sizes = []
    try:
        for volume in reader:
            first_out.set()
            sizes.append(volume.size)
            reader.done(volume)
    finally:
        reader.close()
    assert sizes == [10, 10, 10]


def test_a_read_error_reaches_the_consumer_and_close_removes_what_is_left(tmp_path):
    class Broken(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, target) -> int:
            Broken.calls += 1
            if Broken.calls > 3:
                raise OSError("the pipe broke")
            target[:4] = b"abcd"
            return 4

    reader = VolumeReader(Broken(), 8, str(tmp_path))
    with pytest.raises(InputError, match="the pipe broke"):
        for _volume in reader:
            pass  # not done: its file stays until close
    reader.close()
    assert os.listdir(tmp_path) == []


def test_the_sweep_removes_left_volumes_but_not_ones_a_push_reads_again(tmp_path):
    left = tmp_path / "notion-up-abc.volume"
    kept = tmp_path / "notion-up-def.volume"
    other = tmp_path / "notion-up-ghi.spool"
    for path in (left, kept, other):
        path.write_bytes(b"x")
    assert sweep(str(tmp_path), {str(kept)}) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [kept.name, other.name]
    assert sweep(str(tmp_path / "missing"), set()) == 0
