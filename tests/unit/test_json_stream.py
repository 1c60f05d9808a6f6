"""JSON files are read one record at a time, and give what the whole document parsed at once gives.

The reference is the standard library's `json.loads` over the whole text: the records it finds
(an array, or the list under a key) and, for a broken document, the line, column and character
of its error. The stream's window is shrunk to a few characters so that every value, key and
delimiter is cut by a chunk boundary somewhere.
"""

from __future__ import annotations

import io
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.errors import SourceError
from pipelines.sources import records
from pipelines.sources.records import json_items

ROOT = Path(__file__).parents[2]
REVIEW = {"id": "r1", "text": 'Said "no" [twice], {then} left\n\u00e9\u6f22 \\ /', "stars": 2,
          "nested": {"a": [1, {"b": None}], "c": True}}
DOCUMENTS = {
    "array": [REVIEW, {"id": "r2", "stars": 5.5}, {"id": 12345678901234567890123, "stars": -1e-3}],
    "empty array": [],
    "object": {"meta": {"reviews": "not this one", "page": [1, 2]}, "reviews": [REVIEW, {"id": "r2"}], "after": {}},
    "nested key": {"data": {"total": 2, "reviews": [REVIEW, {"id": "r3"}]}, "links": ["x"]},
    "list after lists": {"other": [[1], [2]], "items": [{"id": "i1"}]},
    "filtered key": {"pages": [{"kind": "ads"}, {"kind": "reviews", "rows": [{"id": "f1"}]}]},
    "numbers": [1234567890123, -0.000123, 1.5e300, 42, True, None],  # a window may end inside a number
    "number before the list": {"count": 1234567890123, "reviews": [{"id": 7}]},
}
KEYS = {"array": (), "empty array": (), "object": ("reviews",), "nested key": ("data.reviews",),
        "list after lists": ("items",), "filtered key": ("pages[kind=reviews].rows",), "numbers": (),
        "number before the list": ("reviews",)}


@pytest.fixture(autouse=True)
def tiny_window(monkeypatch):
    monkeypatch.setattr(records, "CHUNK", 7)


def whole(text: str, keys: tuple[str, ...]) -> list:
    data = json.loads(text)
    return records._listed("doc", data, keys)


@pytest.mark.parametrize("name", DOCUMENTS)
@pytest.mark.parametrize("indent", [None, 2])
def test_the_records_are_those_of_the_whole_document(tmp_path, name, indent):
    text = json.dumps(DOCUMENTS[name], indent=indent, ensure_ascii=False)
    path = tmp_path / "doc.json"
    path.write_text(text, encoding="utf-8")
    assert list(json_items(path, KEYS[name])) == whole(text, KEYS[name])


def test_nan_big_integers_a_byte_order_mark_and_windows_1252_bytes(tmp_path):
    path = tmp_path / "doc.json"
    # \x93 \x94 are Windows-1252 curly quotes, \xe9 its e-acute: not UTF-8, read as the whole file is
    path.write_bytes(b'\xef\xbb\xbf[{"id": 123456789012345678901, "score": NaN, "text": "\x93ok\x94 caf\xe9"}]')
    (record,) = json_items(path, ())
    assert record["id"] == 123456789012345678901
    assert record["score"] != record["score"]  # NaN
    assert record["text"] == "\u201cok\u201d caf\u00e9"


def test_a_long_record_spans_many_windows(tmp_path):
    text = json.dumps([{"id": "long", "text": "slow " * 100_000}, {"id": "next"}])
    path = tmp_path / "doc.json"
    path.write_text(text, encoding="utf-8")
    assert [r["id"] for r in json_items(path, ())] == ["long", "next"]


BROKEN = {
    "missing comma": '[\n  {"id": 1},\n  {"id": 2}\n  {"id": 3}\n]',
    "truncated record": '[{"id": 1}, {"id": 2, "text": "cut he',
    "truncated array": '[{"id": 1}, {"id": 2}',
    "bad value": '[{"id": 1},\n {"id": tru}]',
    "trailing comma": '[{"id": 1},\n]',
    "extra data": '[{"id": 1}]\n\n  {"id": 2}',
    "key without quotes": '{"meta": 1,\n reviews: []}',
    "missing colon": '{"meta" 1, "reviews": []}',
    "object missing comma": '{"meta": {"a": 1}\n "reviews": [{"id": 1}]}',
    "broken after the list": '{"reviews": [{"id": 1}], "next": [1, 2}',
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_document_is_placed_as_json_places_it(tmp_path, name):
    text = BROKEN[name]
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as got:
        list(json_items(path, ("reviews",)))
    e = expected.value
    assert str(got.value) == f"{path}: invalid JSON at line {e.lineno} column {e.colno} (char {e.pos}): {e.msg}"


@pytest.mark.parametrize(("text", "keys"), [('{"meta": {"reviews": [1]}}', ("reviews",)), ("42", ("reviews",)),
                                            ('{"reviews": {"a": 1}}', ("reviews",))])
def test_a_document_without_the_list_names_what_was_expected(tmp_path, text, keys):
    path = tmp_path / "doc.json"
    path.write_text(text, encoding="utf-8")
    expected = f"{path}: expected a JSON array or an object with a 'reviews' list"
    with pytest.raises(SourceError, match=re.escape(expected)):
        list(json_items(path, keys))


@pytest.mark.parametrize("text", ["", "  \n", "\ufeff"])
def test_an_empty_file_has_no_records(tmp_path, text):
    path = tmp_path / "doc.json"
    path.write_text(text, encoding="utf-8")
    assert list(json_items(path, ("reviews",))) == []


def test_a_helper_process_importing_one_json_parser_reads_windows_1252(tmp_path):
    """The reader's helper imports only the parser it runs: the fallback must come with it."""
    path = tmp_path / "tp.json"
    path.write_bytes(b'[{"id": "t1", "stars": 4, "text": "caf\xe9", "createdAt": "2024-05-01T10:00:00Z"}]')
    code = ("import sys; from zoneinfo import ZoneInfo; from pathlib import Path; "
            "from pipelines.config import SourceConfig; from pipelines.sources import get_parser; "
            "s = SourceConfig(name='t', family='review', format='trustpilot_json', path='unused'); "
            "print(next(iter(get_parser('trustpilot_json')(Path(sys.argv[1]), s, ZoneInfo('UTC'))))['body'][0])")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "caf\u00e9"


def test_any_cut_or_slip_is_placed_as_json_places_it():
    """Hundreds of documents broken at random (cut short, a character dropped or slipped in), each
    read through a window of 1-9 characters: the error is json's, or the missing list's when the
    document breaks after what the stream had to find."""
    rnd = random.Random(7)
    sources = [json.dumps([REVIEW, 12345, {"n": None}], indent=1), json.dumps(DOCUMENTS["object"]),
               json.dumps(DOCUMENTS["nested key"], indent=2)]
    broken = 0
    for _ in range(600):
        records.CHUNK = rnd.randint(1, 9)
        text = rnd.choice(sources)
        at = rnd.randrange(len(text))
        text = rnd.choice([text[:at], text[:at] + text[at + 1:], text[:at] + rnd.choice(',:]}[{"x1 .') + text[at:]])
        try:
            json.loads(text)
            continue
        except json.JSONDecodeError as e:
            expected = f"doc: invalid JSON at line {e.lineno} column {e.colno} (char {e.pos}): {e.msg}"
        if not text.strip():
            continue
        with pytest.raises(SourceError) as got:
            list(records.JsonStream(io.StringIO(text), "doc").records(("data.reviews", "reviews")))
        assert str(got.value) == expected or "expected a JSON array" in str(got.value), text
        broken += 1
    assert broken > 300
