"""Lenient mode: repairs, their events, chunking invariance, and agreement with json_repair."""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import fieldstream as fs
from tests.splits import SPLITS, at_splits, chunked, normalize, run

ROOT = Path(__file__).resolve().parent.parent
CORPUS = json.loads((ROOT / "tests/corpus/repair/json_repair_cases.json").read_text(encoding="utf-8"))
DOC = (ROOT / "docs/lenient.md").read_text(encoding="utf-8")
CI = os.environ.get("CI") == "true"


def lenient(**options: Any) -> Any:
    return lambda: fs.Parser(lenient=True, **options)


def canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=True)


def documents(text: str) -> Any:
    """The value lenient mode reads from ``text``, in json_repair's shape (several documents: a list)."""
    parser = fs.Parser(lenient=True, multiple=True)
    try:
        docs = [e.value for e in parser.feed(text) + parser.close() if isinstance(e, fs.DocumentCompleted)]
    except fs.FieldstreamError as exc:
        return f"error: {exc.reason if isinstance(exc, fs.ParseError) else exc}"
    return "" if not docs else docs[0] if len(docs) == 1 else docs


# (input, value, repair kinds in order) -- one line per decision in docs/lenient.md
CASES = [
    ("{'a': 'b'}", {"a": "b"}, ["single_quotes", "single_quotes"]),
    ("{a: 1, b_c: 2}", {"a": 1, "b_c": 2}, ["unquoted_key", "unquoted_key"]),
    ("[1, 2,]", [1, 2], ["trailing_comma"]),
    ('{"a": 1,}', {"a": 1}, ["trailing_comma"]),
    ("[1,,2]", [1, 2], ["extra_comma"]),
    ('{"a": 1 "b": 2}', {"a": 1, "b": 2}, ["missing_comma"]),
    ('["a" "b"]', ["a", "b"], ["missing_comma"]),
    ('{"a" 1}', {"a": 1}, ["missing_colon"]),
    ('{"a": True, "b": False, "c": None}', {"a": True, "b": False, "c": None}, ["python_literal"] * 3),
    ("[NaN, Infinity, -Infinity]", [math.nan, math.inf, -math.inf], ["nonfinite_number"] * 3),
    ("[+1, .5, 1., 007, 1_000]", [1, 0.5, 1.0, 7, 1000], ["number_format"] * 5),
    ("[0x1F, 1/3]", ["0x1F", "1/3"], ["unquoted_string"] * 2),
    ('{"a": hello world}', {"a": "hello world"}, ["unquoted_string"]),
    ('{"a": 1 // one\n, /* two */ "b": 2 # three\n}', {"a": 1, "b": 2}, ["comment"] * 3),
    ('["http://x.y/z", C# rocks]', ["http://x.y/z", "C# rocks"], ["unquoted_string"]),
    ('{"a": "line\nbreak\ttab"}', {"a": "line\nbreak\ttab"}, ["control_character"]),
    ('["\\x", "\\\'"]', ["\\x", "'"], ["invalid_escape"]),
    ("['it's']", ["it's"], ["single_quotes", "inner_quote"]),
    ('["say "hi" now"]', ['say "hi" now'], ["inner_quote"]),
    ('{"k"e"y": 1}', {'k"e"y': 1}, ["inner_quote"]),
    ('["a", "b"}', ["a", "b"], ["mismatched_bracket", "truncated"]),  # no object is open: a stray '}'
    ('{"a": ["x"}, "b": 2}', {"a": ["x"], "b": 2}, ["mismatched_bracket"]),  # a wrong closer: the innermost
    ('[{"a": ["x"}, {"b": 1}]', [{"a": ["x"]}, {"b": 1}], ["mismatched_bracket", "missing_bracket"]),
    ('[{"a": 1, {"b": 2}]', [{"a": 1}, {"b": 2}], ["missing_bracket"]),
    ('[{"a": 1}}, 2]', [{"a": 1}, 2], ["mismatched_bracket"]),
    ('{"a": [1, 2}', {"a": [1, 2]}, ["mismatched_bracket", "truncated"]),
    ('["key": "value"]', ["key", "value"], ["skipped_text"]),
    ('{"a": hello "b": 2}', {"a": "hello", "b": 2}, ["unquoted_string", "missing_comma"]),
    ('{"a": size 12" tall}', {"a": 'size 12" tall'}, ["unquoted_string"]),
    ('["he said "stop". ok"]', ['he said "stop". ok'], ["inner_quote"]),
    ('["x" (1)]', ["x", [1]], ["missing_comma", "python_tuple"]),
    ("{\u201ckey\u201d: \u2018value\u2019}", {"key": "value"}, ["unquoted_key", "unquoted_string"]),
    ('{"xy": (1, 2), "z": ((), (3,))}', {"xy": [1, 2], "z": [[], [3]]}, ["python_tuple"] * 4 + ["trailing_comma"]),
    ("[(1, 2], [3)]", [[1, 2], [3]], ["python_tuple", "mismatched_bracket", "mismatched_bracket"]),
    ('{"note": hello (world)}', {"note": "hello (world)"}, ["unquoted_string"]),
    ('{"a": }', {}, ["missing_value"]),
    ('{"a": , "b": 1}', {"b": 1}, ["missing_value"]),
    ('{"a": 1} }', {"a": 1}, ["trailing_text"]),
    ('{"a": 1, NOTE "b": 2}', {"a": 1, "b": 2}, ["unquoted_key", "skipped_text"]),
    ('{"a": [1, "Pet', {"a": [1, "Pet"]}, ["truncated"] * 3),
    ('{"a": tr', {"a": True}, ["truncated"] * 2),
    ('{"a": 1.', {"a": 1.0}, ["number_format", "truncated"]),
    ('{"a": "x", "b', {"a": "x"}, ["truncated"] * 2),
    ('{"a": "x"  ', {"a": "x"}, ["truncated"]),
    ('```json\n{"a": 1}\n```', {"a": 1}, ["leading_text", "trailing_text"]),
    ('hello {"a": 1}', {"a": 1}, ["leading_text"]),
    ("Step 2: (1, 2)", [1, 2], ["leading_text", "python_tuple"]),
    ("(see below) 3 apples, then {'a': None}", {"a": None}, ["leading_text", "single_quotes", "python_literal"]),
    ("None", None, ["python_literal"]),
    (" 1.5 ", 1.5, []),
    ("1. {}", {}, ["leading_text"]),
    ("True story: None of it {}", {}, ["leading_text"]),  # held literals' own repairs are dropped with them
    ("```json\n42\n```", 42, ["leading_text"]),  # a fence is not prose that makes the number prose
]


@pytest.mark.parametrize(("text", "value", "kinds"), CASES, ids=[c[0][:30] for c in CASES])
@pytest.mark.parametrize("how", SPLITS)
def test_repairs(text: str, value: Any, kinds: list[str], how: str) -> None:
    parser, events = run(chunked(text, how), lenient())
    assert canon(parser.snapshot) == canon(value)
    assert [e.kind for e in events if isinstance(e, fs.Repair)] == kinds
    assert parser.repairs == len(kinds)
    _, whole = run([text], lenient())
    assert normalize(events) == normalize(whole)


@pytest.mark.parametrize(
    "text",
    ['{"a": [1, 2.5, "x\\u00e9\\ud83d\\ude00", true, false, null, {"b": {}}, []]}', "[]", '"s"', "0", "-1.5e3"],
)
def test_valid_json_is_unchanged(text: str) -> None:
    """On valid JSON, lenient mode gives exactly strict mode's events and no repair."""
    for how in SPLITS:
        strict = normalize(run(chunked(text, how))[1])
        assert normalize(run(chunked(text, how), lenient())[1]) == strict


def test_repair_event_and_records() -> None:
    parser = fs.Parser(lenient=True)
    events = parser.feed("{'a': True}") + parser.close()
    repairs = [e for e in events if isinstance(e, fs.Repair)]
    assert repairs[0] == fs.Repair(path=(), kind="single_quotes", offset=1)
    assert repr(repairs[1]) == "Repair($.a, 'python_literal', offset=6)"
    assert events.index(repairs[1]) < events.index(fs.ValueCompleted(path=("a",), value=True))
    from fieldstream._records import event_to_json

    assert event_to_json(repairs[1]) == {"event": "repair", "path": "$.a", "kind": "python_literal", "offset": 6}
    frames = fs.sse_encode(events).decode()
    assert 'event: repair\ndata: {"event":"repair","path":"$.a","kind":"python_literal","offset":6}' in frames
    assert fs.Parser().repairs == 0


def test_never_emits_a_value_that_changes() -> None:
    """Held quotes and unquoted words complete only once the next character decides."""
    text = '[\'it\'s\', "say "hi" now", True, hello world, 12]'
    final = run([text], lenient())[0].snapshot
    parser = fs.Parser(lenient=True)
    for i, char in enumerate(text):
        for event in parser.feed(char):
            if isinstance(event, fs.ItemCompleted):
                assert final[event.index] == event.value, (i, event)
        snap = parser.snapshot
        for index, item in enumerate(snap[:-1] if snap else []):
            assert item == final[index]


# -- the top level: text that starts no value is skipped ---------------------------------------------------------

# (input, documents with multiple=True, repair kinds) -- docs/lenient.md "Top level"
TOP_MULTIPLE = [
    (
        "Here:\n```json\n{'a': 1}\n```\nand\n```json\n[2]\n```\n",
        [{"a": 1}, [2]],
        ["leading_text", "single_quotes"] + ["leading_text"] * 2,
    ),
    ("1 2\n3", [1, 2, 3], []),  # numbers separated by blanks: documents, as in strict mode
    ('6null truefalse "a"true 1"b" null-1 1[2]', [6, None, True, False, "a", True, 1, "b", None, -1, 1, [2]], []),
    ("I have 3 apples and 2 pears: [1]", [[1]], ["leading_text"]),  # numbers in prose are prose
    ("(see below) (1, 2) ()", [[1, 2], []], ["leading_text", "python_tuple", "python_tuple"]),
    ('{"a": 1}, {"b": 2} // done', [{"a": 1}, {"b": 2}], ["leading_text", "comment"]),
    ("True None -Infinity", [True, None, -math.inf], ["python_literal", "python_literal", "nonfinite_number"]),
    ("```\n```", [], ["leading_text"]),
    ("```\n1\n```\n```\nTrue\n```", [1, True], ["leading_text", "python_literal"]),
]


@pytest.mark.parametrize(("text", "values", "kinds"), TOP_MULTIPLE, ids=[c[0][:25] for c in TOP_MULTIPLE])
@pytest.mark.parametrize("how", SPLITS)
def test_top_level_text_between_documents(text: str, values: list[Any], kinds: list[str], how: str) -> None:
    parser, events = run(chunked(text, how), lenient(multiple=True))
    assert canon([e.value for e in events if isinstance(e, fs.DocumentCompleted)]) == canon(values)
    assert [e.kind for e in events if isinstance(e, fs.Repair)] == kinds
    assert parser.repairs == len(kinds)
    assert normalize(events) == normalize(run([text], lenient(multiple=True))[1])


@pytest.mark.parametrize("text", ["1 2\n3", '6null truefalse "a"true 1"b" null-1 1[2]', '[] {} "x" 0'])
def test_top_level_documents_as_strict_mode_reads_them(text: str) -> None:
    for how in SPLITS:
        strict = normalize(run(chunked(text, how), lambda: fs.Parser(multiple=True))[1])
        assert normalize(run(chunked(text, how), lenient(multiple=True))[1]) == strict


def test_top_level_prose_alone_is_no_document() -> None:
    for text in ["hello", "```json\n```", "tru", "(see below)", "3 apples"]:
        parser = fs.Parser(lenient=True)
        parser.feed(text)
        with pytest.raises(fs.IncompleteError, match="no JSON document"):
            parser.close()
    parser = fs.Parser(str, lenient=True)  # a schema does not make top-level prose a document
    parser.feed("hello ")
    with pytest.raises(fs.IncompleteError):
        parser.close()
    parser = fs.Parser(str, lenient=True)
    parser.feed('Sure: "hello"')
    parser.close()
    assert parser.snapshot == "hello"


def test_top_level_scalar_is_shown_only_once_decided() -> None:
    """A top-level number is held while a later word may still make it prose; nothing shown is withdrawn."""
    parser = fs.Parser(lenient=True)
    assert parser.feed("3") == [] and parser.feed(" ") == []
    assert [e.kind for e in parser.feed("apples ") if isinstance(e, fs.Repair)] == ["leading_text"]
    assert parser.repairs == 1
    events = parser.feed("True") + parser.feed("\n") + parser.close()
    assert [type(e).__name__ for e in events] == ["Repair", "ValueCompleted", "DocumentCompleted"]
    assert parser.snapshot is True and parser.repairs == 2
    from fieldstream._records import event_to_json

    skipped = fs.Repair(path=(), kind="leading_text", offset=0)  # the records gain a kind, nothing else
    assert event_to_json(skipped) == {"event": "repair", "path": "$", "kind": "leading_text", "offset": 0}
    assert 'data: {"event":"repair","path":"$","kind":"leading_text","offset":0}' in fs.sse_encode([skipped]).decode()


def test_typed_fenced_answer() -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        city: str
        count: int

    parser = fs.Parser(Answer, lenient=True)
    for chunk in chunked("Sure! Here it is:\n```json\n{city: Paris, count: 3}\n```\nAnything else?", "per-char"):
        parser.feed(chunk)
    parser.close()
    assert parser.snapshot == Answer(city="Paris", count=3)


def test_typed_schema_resolves_unquoted_words() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Order(pydantic.BaseModel):
        zip: str
        count: int
        gift: bool
        note: str | None = None

    parser = fs.Parser(Order, lenient=True)
    events = parser.feed("{zip: 02134, count: 007, gift: True, note: None}") + parser.close()
    assert parser.snapshot == Order(zip="02134", count=7, gift=True, note=None)
    assert not [e for e in events if isinstance(e, fs.ValueInvalid)]
    # validation stays pydantic's: a JSON number where a str is expected is still rejected
    parser = fs.Parser(Order, lenient=True)
    events = parser.feed('{"zip": 2134, "count": 1, "gift": true}') + parser.close()
    assert [e.path for e in events if isinstance(e, fs.ValueInvalid)] == [("zip",), ()]


def _schema_cases() -> list[tuple[Any, str, Any]]:
    """(annotation, unquoted text, the value read): one line per rule in docs/lenient.md, "With a schema"."""
    import enum
    from typing import Literal, Optional, Union

    from pydantic import BaseModel, Field, constr

    class Size(str, enum.Enum):
        S = "S"
        TRUE = "True"

    class Level(enum.IntEnum):
        ONE = 1

    class Item(BaseModel):
        name: str
        count: int = 0

    return [
        (str, "02134", "02134"),
        (str, "None", "None"),
        (Optional[str], "None", None),  # None takes None, str the text: no agreement, read as without a schema
        (Optional[str], "02134", "02134"),  # None has no say on 2134
        (Optional[str], "True", "True"),
        (Literal["a", "b"], "b", "b"),
        (Literal["01", "x"], "01", "01"),
        (Literal[1, "x"], "01", 1),
        (Literal[True, "x"], "True", True),
        (Size, "True", Size.TRUE),
        (Level, "01", Level.ONE),
        (constr(pattern="^0"), "007", "007"),
        (list[str], "[None, 007]", ["None", "007"]),
        (list[Optional[str]], "[None, 007]", [None, "007"]),
        (dict[str, str], "{x: False, y: NaN}", {"x": "False", "y": "NaN"}),
        (tuple[str, int], "[007, 007]", ("007", 7)),
        (list[Item], "[{name: 007, count: 007}]", [Item(name="007", count=7)]),
        (Union[str, int], "007", 7),  # str takes the text, int the value: read as without a schema
        (bool, "True", True),
        (bool, "yes", True),  # no other reading: the text, which pydantic's lax bool reads
        (float, "1_000", 1000.0),
        (Any, "007", 7),
        (Optional[Item], "{name: True}", Item(name="True")),
        (Field(default="", alias="k"), "None", "None"),  # a field found by its alias
    ]


def test_schema_decides_an_unquoted_words_reading() -> None:
    pydantic = pytest.importorskip("pydantic")
    for annotation, text, expected in _schema_cases():
        if type(annotation).__name__ == "FieldInfo":
            model = pydantic.create_model("M", v=(str, annotation))
            document = "{k: " + text + "}"
        else:
            model = pydantic.create_model("M", v=(annotation, ...))
            document = "{v: " + text + "}"
        for how in SPLITS:
            parser, events = run(chunked(document, how), lambda: fs.Parser(model, lenient=True))
            assert not [e for e in events if isinstance(e, fs.ValueInvalid)], (annotation, text)
            assert parser.snapshot.v == expected, (annotation, text, how)


def test_schema_decides_a_cut_off_word() -> None:
    pydantic = pytest.importorskip("pydantic")
    model = pydantic.create_model("M", name=(str, ""), done=(bool, False))
    for text, expected in [("{name: tr", model(name="tr")), ("{done: fals", model(done=False))]:
        parser = fs.Parser(model, lenient=True)
        parser.feed(text)
        parser.close()
        assert parser.snapshot == expected  # a str keeps the cut word; a bool completes it


def test_options_reach_every_entry() -> None:
    decoder = fs.StreamDecoder("ollama", lenient=True)
    body = b'{"message":{"content":"{\'a\': True,"},"done":false}\n{"message":{"content":"}"},"done":true}\n'
    events = decoder.feed(body) + decoder.close()
    done = [e for e in events if isinstance(e, fs.TargetCompleted)]
    assert done[0].value == {"a": True}
    assert [e.event.kind for e in events if isinstance(e, fs.TargetEvent) and isinstance(e.event, fs.Repair)] == [
        "single_quotes",
        "python_literal",
        "trailing_comma",
    ]


def test_the_iterators_take_the_option() -> None:
    assert list(fs.iter_items(["[1, 'a',", " True, 0x1F]"], lenient=True)) == [1, "a", True, "0x1F"]
    assert list(fs.iter_snapshots(["{a: 1"], lenient=True))[-1] == {"a": 1}
    with pytest.raises(fs.ParseError):
        list(fs.iter_snapshots(['{"key": ["a"], ["b"]}'], lenient=True))


def test_the_main_job_takes_the_option(tmp_path: Path) -> None:
    """``stream(..., lenient=True)``, here over a recorded Ollama body (no format); ``parser_options`` still works."""
    body = tmp_path / "ollama.ndjson"
    body.write_bytes(
        b'{"message":{"role":"assistant","content":"```json\\n{\'a\': True,"},"done":false}\n'
        b'{"message":{"role":"assistant","content":" note: None}\\n```"},"done":true}\n'
    )
    answer = fs.stream(fs.Recording(body, speed=None), dict, lenient=True)
    events = list(answer)
    assert answer.final == {"a": True, "note": None}
    assert [e.kind for e in events if isinstance(e, fs.Repair)][:3] == [
        "leading_text",
        "single_quotes",
        "python_literal",
    ]
    old = fs.stream(fs.Recording(body, speed=None), dict, parser_options={"lenient": True, "max_depth": 8})
    assert normalize([e for e in old if isinstance(e, fs.Event)]) == normalize(
        [e for e in events if isinstance(e, fs.Event)]
    )
    strict = fs.stream(fs.Recording(body, speed=None), dict)
    with pytest.raises(fs.StreamError):
        list(strict)
        strict.final  # noqa: B018 - raises: no answer
    with pytest.raises(fs.UsageError, match="disagree"):
        fs.stream(fs.Recording(body, speed=None), dict, lenient=True, parser_options={"lenient": False})


BROKEN_TOOL = ROOT / "tests/corpus/repair/anthropic_fine_grained_tool_broken.sse"


class Weather(BaseModel):
    location: str
    units: str
    days: list[int]
    extended: bool


WEATHER = {"location": "Paris", "units": "celsius", "days": [1, 2, 3], "extended": True}
TOOL_REPAIRS = ["unquoted_key", "single_quotes", "unquoted_key", "unquoted_string", "unquoted_key", "trailing_comma"]


def test_broken_tool_call_through_the_main_job() -> None:
    """A fine-grained tool streaming body with broken JSON (corpus, by mutation): the answer, typed, in lenient mode."""
    answer = fs.stream(fs.Recording(BROKEN_TOOL, speed=None), Weather, via="tool", name="get_weather", lenient=True)
    events = list(answer)
    assert answer.final == Weather(**WEATHER)
    assert [e.kind for e in events if isinstance(e, fs.Repair)][:6] == TOOL_REPAIRS
    strict = fs.stream(fs.Recording(BROKEN_TOOL, speed=None), Weather, via="tool", name="get_weather")
    with pytest.raises(fs.StreamError):
        list(strict)
        strict.final  # noqa: B018 - raises: the tool call's JSON is broken


def test_broken_tool_call_through_the_async_main_job() -> None:
    import asyncio

    async def main() -> tuple[Any, list[str]]:
        answer = fs.astream(
            fs.Recording(BROKEN_TOOL, speed=None), Weather, via="tool", name="get_weather", lenient=True
        )
        kinds = [e.kind async for e in answer if isinstance(e, fs.Repair)]
        return await answer.get_final(), kinds

    final, kinds = asyncio.run(main())
    assert final == Weather(**WEATHER)
    assert kinds[:6] == TOOL_REPAIRS


def test_cli_record_and_replay_a_broken_tool_call(tmp_path: Path) -> None:
    """``record`` saves the broken body as it came (its own decoding only feeds the timeline), and ``replay --lenient``
    reads it; strict ``replay`` reports the malformed call."""
    import subprocess
    import sys

    from .streamserver import Script, running

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "fieldstream", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    body = BROKEN_TOOL.read_bytes()
    out = tmp_path / "broken.sse"
    for server in running():
        server.serve("/v1/messages", Script([e + b"\n\n" for e in body.split(b"\n\n") if e], delay=0.002))
        result = cli("record", server.url("/v1/messages"), "--data", "{}", "-o", str(out))
        assert result.returncode == 0, result.stderr
    assert out.read_bytes().rstrip(b"\n") == body.rstrip(b"\n")
    result = cli("replay", str(out), "--no-delay", "--jsonl", "--lenient")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["kind"] for r in records if r["event"] == "repair"][:6] == TOOL_REPAIRS
    assert [r["value"] for r in records if r["event"] == "done"][-1] == WEATHER
    result = cli("replay", str(out), "--no-delay", "--lenient")
    assert result.returncode == 0 and "$.location repaired: single_quotes at offset 11" in result.stdout
    result = cli("replay", str(out), "--no-delay", "--jsonl")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert [r["kind"] for r in map(json.loads, result.stdout.splitlines()) if r["event"] == "error"] == ["malformed"]


def test_errors_stay_fieldstream_errors() -> None:
    for text in ["{[", "]", "{a {", "[1, 2" + "]" * 3]:
        parser = fs.Parser(lenient=True)
        try:
            parser.feed(text)
            parser.close()
        except fs.FieldstreamError:
            pass
    with pytest.raises(fs.IncompleteError):
        fs.Parser(lenient=True).close()
    with pytest.raises(fs.LimitError):
        fs.Parser(lenient=True, max_string_length=3).feed("['abcd'")
    with pytest.raises(fs.LimitError):
        fs.Parser(lenient=True, max_string_length=3).feed("[abcd]")


# -- the json_repair corpus ------------------------------------------------------------------------------------


def _table_script() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("lenient_table", ROOT / "scripts/lenient_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_corpus_agrees_with_json_repair_or_is_documented() -> None:
    """The disagreement table in docs/lenient.md is exactly what the two libraries give, each row with a reason.

    Regenerate it with ``python scripts/lenient_table.py`` (reasons are kept by input).
    """
    pytest.importorskip("json_repair")
    from importlib.metadata import version

    assert version("json-repair") == "0.61.7"  # the pinned peer the table was made against
    table = _table_script()
    documented = table.parse(DOC)
    assert [row[:3] for row in documented] == table.rows(), "run scripts/lenient_table.py and review the reasons"
    assert all(row[3] not in ("", table.TODO) for row in documented)
    agreed = len(CORPUS) - len(documented)
    assert f"agree on {agreed} of {len(CORPUS)} inputs" in DOC


# the kinds of corpus input lenient mode refuses (docs/lenient.md says why): (input, offset, snapshot then)
REFUSED = [
    ('{"headers": ["A"], "rows": [["r1a"], "r3a"], ["r4a"]]}', 45, {"headers": ["A"], "rows": [["r1a"], "r3a"]}),
    ('{ "a" : "{ b": {} }" }', 15, {"a": "{ b"}),
    ('{ "key": ["arrayvalue"], ["arrayvalue1"], "key3": "value3" }', 25, {"key": ["arrayvalue"]}),
    ('{ "key": ["arrayvalue"], "key3": "value3", ["arrayvalue1"] }', 43, {"key": ["arrayvalue"], "key3": "value3"}),
]


@pytest.mark.parametrize(("text", "offset", "snapshot"), REFUSED)
@pytest.mark.parametrize("how", SPLITS)
def test_refused_inputs_raise_a_parse_error_and_keep_what_came_before(
    text: str, offset: int, snapshot: Any, how: str
) -> None:
    parser = fs.Parser(lenient=True)
    with pytest.raises(fs.ParseError) as info:
        for chunk in chunked(text, how):
            parser.feed(chunk)
    assert info.value.offset == offset
    assert info.value.reason.startswith("expected a string key but found")
    assert parser.snapshot == snapshot


@pytest.mark.parametrize("how", SPLITS)
def test_corpus_every_split_same_events(how: str) -> None:
    for case in CORPUS:
        text = case["input"]
        for options in ({"multiple": True}, {"prose": True, "multiple": True}):
            outcomes = []
            for chunks in ([text], chunked(text, how)):
                try:
                    outcomes.append(normalize(run(chunks, lenient(**options))[1]))
                except fs.ParseError as exc:
                    outcomes.append(("error", exc.reason, exc.offset, exc.line, exc.column, exc.path))
            assert outcomes[0] == outcomes[1], (text, options)


# -- generated mutations of valid documents ---------------------------------------------------------------------

_WORDS = ["name", "id", "tags", "value", "it's", 'say "hi"', "a b", "x\ny", "", "Ünï", "42"]


def _value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return rng.choice(_WORDS)
    if kind == 1:
        return rng.choice([0, -3, 17, 2.5, -0.25, 1e21])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind in (3, 4):
        return rng.choice(_WORDS[:4])
    if kind in (5, 6):
        return {rng.choice(_WORDS[:5]) + str(i): _value(rng, depth + 1) for i in range(rng.randrange(4))}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def _mutate(value: Any, rng: random.Random) -> str:
    """Write ``value`` the way a model outside a JSON grammar might (one repairable fault at a time, at random)."""

    def string(s: str, key: bool = False) -> str:
        roll = rng.random()
        if key and s.isidentifier() and roll < 0.3:
            return s
        if "'" not in s and "\\" not in s and roll < 0.5:
            return "'" + s.replace('"', '\\"') + "'" if '"' in s else "'" + s + "'"
        if "\n" in s and roll < 0.8:
            return '"' + json.dumps(s)[1:-1].replace("\\n", "\n") + '"'
        return json.dumps(s)

    def sep() -> str:
        roll = rng.random()
        return ", " if roll < 0.7 else " /* c */, " if roll < 0.8 else ", // c\n" if roll < 0.9 else "\n "

    def write(v: Any) -> str:
        if isinstance(v, bool) or v is None:
            return rng.choice([json.dumps(v), {True: "True", False: "False", None: "None"}[v]])
        if isinstance(v, str):
            return string(v)
        if isinstance(v, (int, float)):
            return json.dumps(v)
        trail = "," if rng.random() < 0.3 and v else ""
        if isinstance(v, list):
            items = [write(x) for x in v]
            return "[" + "".join(x + sep() for x in items[:-1]) + (items[-1] if items else "") + trail + "]"
        pairs = [string(k, key=True) + ": " + write(x) for k, x in v.items()]
        return "{" + "".join(x + sep() for x in pairs[:-1]) + (pairs[-1] if pairs else "") + trail + "}"

    return write(value)


def test_mutations_restore_the_original() -> None:
    """Wherever json_repair restores the original document, lenient mode does too (and in more cases)."""
    json_repair = pytest.importorskip("json_repair")
    rng = random.Random(18)
    restored = {"fieldstream": 0, "json_repair": 0}
    for _ in range(400):
        original = {"root": _value(rng, 0)}
        text = _mutate(original, rng)
        ours = documents(text)
        theirs = json_repair.repair_json(text, return_objects=True)
        if canon(theirs) == canon(original):
            restored["json_repair"] += 1
            assert canon(ours) == canon(original), text
        restored["fieldstream"] += canon(ours) == canon(original)
        _, events = run(chunked(text, "random-1"), lenient())
        assert normalize(events) == normalize(run([text], lenient())[1])
    assert restored["fieldstream"] >= restored["json_repair"]
    assert restored == {"fieldstream": 400, "json_repair": 358}  # the figures docs/lenient.md quotes


@settings(
    max_examples=60 if CI else 200,
    derandomize=CI,
    suppress_health_check=[HealthCheck.too_slow],
    deadline=None,
)
@given(seed=st.integers(0, 2**32), points=st.lists(st.integers(0, 400), max_size=12))
def test_mutations_every_split_gives_the_same_events(seed: int, points: list[int]) -> None:
    rng = random.Random(seed)
    text = _mutate({"k": _value(rng, 0)}, rng)
    whole = normalize(run([text], lenient())[1])
    assert normalize(run(at_splits(text, points), lenient())[1]) == whole
    # and cut anywhere: close() completes the prefix without raising anything but fieldstream errors
    cut = text[: points[0]] if points else text[: len(text) // 2]
    try:
        run(at_splits(cut, points), lenient())
    except fs.FieldstreamError:
        pass


# pieces of what models write around and between documents (docs/lenient.md "Top level")
_TOP_PIECES = [
    "```json",
    "```",
    "Here is the JSON:",
    "and",
    "3 apples",
    "1.",
    "Step 2:",
    "(see below)",
    "(1, 2)",
    "()",
    "42",
    "-1.5e3",
    "True",
    "None",
    "NaN",
    "tru",
    "'it'",
    '"s"',
    "{a: 1}",
    "[1, 'x']",
    "// note",
    "/* c */",
    "# h",
    "}",
    ")",
    ",",
    "6null",
    "truefalse",
    "it's",
    "\u00e9t\u00e9",
]


@settings(
    max_examples=60 if CI else 300,
    derandomize=CI,
    suppress_health_check=[HealthCheck.too_slow],
    deadline=None,
)
@given(
    pieces=st.lists(st.sampled_from(_TOP_PIECES), max_size=8),
    gaps=st.lists(st.sampled_from(["", " ", "\n", "\n\n", " \t"]), min_size=8, max_size=8),
    points=st.lists(st.integers(0, 120), max_size=10),
    multiple=st.booleans(),
)
def test_top_level_text_every_split_gives_the_same_events(
    pieces: list[str], gaps: list[str], points: list[int], multiple: bool
) -> None:
    """Around and between documents: every split gives the same events, and what is emitted is never withdrawn
    (the events after each chunk begin the whole input's events)."""
    text = "".join(piece + gap for piece, gap in zip(pieces, gaps))

    def outcome(chunks: list[str]) -> tuple[list[Any], Any]:
        parser = fs.Parser(lenient=True, multiple=multiple)
        events: list[fs.Event] = []
        try:
            for chunk in chunks:
                events += parser.feed(chunk)
            events += parser.close()
        except fs.FieldstreamError as exc:
            return normalize(events), (type(exc).__name__, str(exc))
        return normalize(events), None

    whole = outcome([text])
    assert outcome(at_splits(text, points)) == whole
    final = [e for e in whole[0] if e[0] != "delta"]
    parser = fs.Parser(lenient=True, multiple=multiple)
    seen: list[Any] = []
    try:
        for chunk in at_splits(text, points):
            seen += [e for e in normalize(parser.feed(chunk)) if e[0] != "delta"]
            assert seen == final[: len(seen)]
    except fs.FieldstreamError:
        pass


@pytest.mark.parametrize("path", sorted((ROOT / "tests/corpus/streams").rglob("*.sse"))[:40], ids=lambda p: p.name)
def test_recorded_streams_in_lenient_mode(path: Path) -> None:
    """Replaying the recorded provider streams in lenient mode never raises and repairs nothing that was valid."""
    body = path.read_bytes()
    strict = fs.StreamDecoder()
    relaxed = fs.StreamDecoder(lenient=True)
    a = strict.feed(body) + strict.close()
    b = relaxed.feed(body) + relaxed.close()
    done_a = [e.value for e in a if isinstance(e, fs.TargetCompleted)]
    done_b = [e.value for e in b if isinstance(e, fs.TargetCompleted)]
    if not [e for e in a if isinstance(e, fs.Fault)]:  # a cut stream: lenient mode completes what strict reports
        assert canon(done_a) == canon(done_b)


def test_recorded_anthropic_tool_call_cut_by_max_tokens() -> None:
    """A real partial tool-call JSON (Anthropic, max_tokens): strict mode reports it cut, lenient mode completes it."""
    body = (ROOT / "tests/corpus/streams/anthropic_messages/ant_sdk_tool_use_truncated_max_tokens.sse").read_bytes()
    strict = fs.StreamDecoder()
    events = strict.feed(body) + strict.close()
    assert [type(e).__name__ for e in events if isinstance(e, fs.Fault)] == ["Truncated"]
    relaxed = fs.StreamDecoder(lenient=True)
    events = relaxed.feed(body) + relaxed.close()
    done = [e.value for e in events if isinstance(e, fs.TargetCompleted) and e.source.kind == "tool_call"]
    assert done[0]["filename"] == "taxes.txt"
    assert done[0]["lines_of_text"][-1] == "Filing taxes"
    repairs = [e.event for e in events if isinstance(e, fs.TargetEvent) and isinstance(e.event, fs.Repair)]
    assert [r.kind for r in repairs] == ["truncated"] * 3
    assert not [e for e in events if isinstance(e, fs.Fault)]


def test_cli_parse_and_replay_lenient(tmp_path: Path) -> None:
    import subprocess
    import sys

    def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "fieldstream", *args]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60, check=False)

    result = cli("parse", "-", "--jsonl", "--lenient", stdin="{a: True,}")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["kind"] for r in records if r["event"] == "repair"] == [
        "unquoted_key",
        "python_literal",
        "trailing_comma",
    ]
    assert records[-1] == {"event": "done", "value": {"a": True}}
    assert "repaired: python_literal at offset 4" in cli("parse", "-", "--lenient", stdin="{a: True}").stdout
    assert cli("parse", "-", "--jsonl", stdin="{a: True}").returncode == 1  # strict stays the default
    # refused and hostile input: fieldstream's error as a record or a message, never a traceback
    result = cli("parse", "-", "--jsonl", "--lenient", stdin='{"key": ["a"], ["b"]}')
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["event"] == "error"
    (tmp_path / "lenient_model.py").write_text(
        "from typing import Optional\nfrom pydantic import BaseModel\n"
        "class Order(BaseModel):\n    zip: str\n    note: Optional[str] = None\n"
    )
    hostile = "{zip: 02134, note: None, zip: [True, " + "(" * 1500 + "\u00e9'"
    result = subprocess.run(
        [sys.executable, "-m", "fieldstream", "parse", "-", "--jsonl", "--lenient", "--model", "lenient_model:Order"],
        input="{zip: 02134, note: None}",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["value"] == {"zip": "02134", "note": None}
    result = cli("parse", "-", "--jsonl", "--lenient", stdin=hostile)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    stream = ROOT / "tests/corpus/streams/anthropic_messages/ant_sdk_tool_use_truncated_max_tokens.sse"
    result = cli("replay", str(stream), "--no-delay", "--jsonl", "--lenient")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["kind"] for r in records if r["event"] == "repair"] == ["truncated"] * 3
