"""``fsutil.read_json`` reads only a regular file of bounded size: a FIFO (which would block the
reader forever), a directory or an oversized file reads as None, like a missing or malformed one."""

from __future__ import annotations

import os

from lakeloop.fsutil import MAX_JSON_BYTES, read_json


def test_a_regular_file_is_parsed_and_a_missing_or_malformed_one_is_none(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"pins": {"a--b": 2}}')
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert read_json(good) == {"pins": {"a--b": 2}}
    assert read_json(bad) is None and read_json(tmp_path / "missing.json") is None


def test_a_fifo_a_directory_and_an_oversized_file_read_as_none_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # no writer: a blocking open would wait forever
    big = tmp_path / "big.json"
    big.write_text('"' + "x" * MAX_JSON_BYTES + '"')
    assert read_json(fifo) is None
    assert read_json(tmp_path) is None
    assert read_json(big) is None
