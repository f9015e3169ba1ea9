"""The core parser: values, events, snapshots, modes, errors and limits, at every split."""

from __future__ import annotations

import copy
import json

import pytest

import fieldstream as fs

from .splits import SPLITS, chunked, normalize, run

# Documents as (id, text); each is checked against json.loads at every split.
DOCUMENTS = [
    ("empty-object", "{}"),
    ("empty-array", "[]"),
    ("nested-empties", '{"a": {}, "b": [], "c": [{}, []]}'),
    ("scalars", '[true, false, null, 0, -0, 1.5, -2e3, 1E+2, 3.25e-1, "x"]'),
    ("top-string", '"just a string"'),
    ("top-number", "12345"),
    ("top-negative-real", "-0.5e-7"),
    ("top-literal", "null"),
    ("escapes", r'{"s": "q\" b\\ s\/ \b\f\n\r\t \u00e9 \u20AC"}'),
    ("surrogate-pair", r'["\ud83d\ude00 and \uD834\uDD1E"]'),
    ("lone-surrogates", r'["\ud800", "\udc00x", "\ud800\u0041"]'),
    ("non-ascii", '{"clé": "naïve café 日本語 😀", "€": 1}'),
    ("whitespace", ' \n\t{ "a" :\r\n [ 1 ,\n2 ] } \n'),
    ("big-numbers", "[123456789012345678901234567890, -1e308, 1e400, 0.1]"),
    ("deep", "[" * 50 + '{"k": "v"}' + "]" * 50),
    ("odd-keys", '{"": 1, "a b": 2, "a.b": 3, "0": 4, "\\"": 5}'),
    ("duplicate-keys", '{"a": 1, "a": 2}'),
    ("records", json.dumps([{"id": i, "name": f"n{i}", "tags": ["t", i], "ok": i % 2 == 0} for i in range(20)])),
]


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize(("name", "text"), DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_final_value_equals_json_loads(name: str, text: str, how: str) -> None:
    parser, events = run(chunked(text, how))
    expected = json.loads(text)
    assert isinstance(events[-1], fs.DocumentCompleted)
    assert events[-1].value == expected or json.dumps(events[-1].value) == json.dumps(expected)
    assert json.dumps(parser.snapshot) == json.dumps(expected)
    # the root completion comes right before the document event
    assert isinstance(events[-2], fs.ValueCompleted) and events[-2].path == ()


@pytest.mark.parametrize(("name", "text"), DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_events_do_not_depend_on_chunking(name: str, text: str) -> None:
    reference = normalize(run([text])[1])
    for how in SPLITS[1:]:
        assert normalize(run(chunked(text, how))[1]) == reference, how
    encoded = text.encode()
    assert normalize(run([encoded[i : i + 1] for i in range(len(encoded))])[1]) == reference


def test_event_stream_shape() -> None:
    _, events = run(['{"a": [1, {"b": "xy"}], "c": null}'])
    assert normalize(events) == [
        ("ItemCompleted", ("a", 0), 1),
        ("delta", ("a", 1, "b"), "xy"),
        ("ValueCompleted", ("a", 1, "b"), "xy"),
        ("ItemCompleted", ("a", 1), {"b": "xy"}),
        ("ValueCompleted", ("a",), [1, {"b": "xy"}]),
        ("ValueCompleted", ("c",), None),
        ("ValueCompleted", (), {"a": [1, {"b": "xy"}], "c": None}),
        ("done", 0, {"a": [1, {"b": "xy"}], "c": None}),
    ]
    assert events[0].path_text == "$.a[0]"
    assert isinstance(events[0], fs.ItemCompleted) and events[0].index == 0


def test_values_complete_in_the_chunk_that_completes_them() -> None:
    p = fs.Parser()
    assert p.feed('{"n": 12') == []  # a number may go on
    assert normalize(p.feed(",")) == [("ValueCompleted", ("n",), 12)]
    assert normalize(p.feed('"s": "ab')) == [("delta", ("s",), "ab")]
    assert normalize(p.feed('"')) == [("ValueCompleted", ("s",), "ab")]
    assert normalize(p.feed(', "t": tr')) == []
    assert normalize(p.feed("ue")) == [("ValueCompleted", ("t",), True)]
    assert [type(e).__name__ for e in p.feed("}")] == ["ValueCompleted", "DocumentCompleted"]
    assert p.close() == []


def test_top_level_number_completes_at_close() -> None:
    p = fs.Parser()
    assert p.feed("42") == []
    assert normalize(p.close()) == [("ValueCompleted", (), 42), ("done", 0, 42)]


def test_deltas_join_to_the_string() -> None:
    text = json.dumps({"a": 'héllo "wörld" \n 😀 ' * 5, "b": ["x\ty", "z"]})
    for how in SPLITS:
        _, events = run(chunked(text, how))
        joined: dict[tuple, str] = {}
        for e in events:
            if isinstance(e, fs.StringDelta):
                assert e.text
                joined[e.path] = joined.get(e.path, "") + e.text
        assert joined == {("a",): json.loads(text)["a"], ("b", 0): "x\ty", ("b", 1): "z"}


def test_keys_are_known_before_values_start() -> None:
    p = fs.Parser()
    p.feed('{"outer": {"key": ')
    assert p.path == ("outer", "key")
    assert normalize(p.feed('"v')) == [("delta", ("outer", "key"), "v")]


def test_snapshot_holds_partial_strings_but_not_partial_numbers() -> None:
    p = fs.Parser()
    assert p.snapshot is None
    p.feed('{"a": "hel')
    assert p.snapshot == {"a": "hel"}
    p.feed('lo", "n": 3')
    assert p.snapshot == {"a": "hello"}
    p.feed('1, "l": [1, "x')
    assert p.snapshot == {"a": "hello", "n": 31, "l": [1, "x"]}
    p.feed('y", tr')
    assert p.snapshot == {"a": "hello", "n": 31, "l": [1, "xy"]}
    p.feed("ue]}")
    assert p.snapshot == {"a": "hello", "n": 31, "l": [1, "xy", True]}


def test_snapshot_never_holds_a_value_that_later_changes() -> None:
    text = json.dumps({"a": [1, 2.5, "str", {"b": None}], "c": "long text here", "d": False})
    p = fs.Parser()
    seen = []
    for ch in text:
        p.feed(ch)
        seen.append(copy.deepcopy(p.snapshot))
    final = p.snapshot

    def is_prefix(partial: object, full: object) -> bool:
        if isinstance(partial, dict):
            return isinstance(full, dict) and all(k in full and is_prefix(v, full[k]) for k, v in partial.items())
        if isinstance(partial, list):
            return isinstance(full, list) and len(partial) <= len(full) and all(map(is_prefix, partial, full))
        if isinstance(partial, str):
            return isinstance(full, str) and full.startswith(partial)
        return partial == full and type(partial) is type(full)

    assert all(s is None or is_prefix(s, final) for s in seen)


def test_bytes_split_inside_multibyte_characters() -> None:
    text = '{"k": "é€😀", "😀": ["ü"]}'
    data = text.encode()
    for i in range(len(data)):
        _, events = run([data[:i], data[i:]])
        assert events[-1].value == json.loads(text)


def test_empty_chunks_are_not_end_of_input() -> None:
    p = fs.Parser()
    assert p.feed("") == []
    assert p.feed(b"") == []
    p.feed("[1")
    assert p.feed("") == []
    assert normalize(p.feed("]"))[-1] == ("done", 0, [1])


# -- modes -----------------------------------------------------------------

PROSE = [
    ("fence", 'Here you go:\n```json\n{"a": [1, 2]}\n```\nAnything else?', {"a": [1, 2]}),
    ("leading-text", 'Sure! [1, "two"] is the list.', [1, "two"]),
    ("plain", '{"x": true}', {"x": True}),
]


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize(("name", "text", "expected"), PROSE, ids=[p[0] for p in PROSE])
def test_prose_mode_skips_text_around_the_value(name: str, text: str, expected: object, how: str) -> None:
    _, events = run(chunked(text, how), lambda: fs.Parser(prose=True))
    docs = [e for e in events if isinstance(e, fs.DocumentCompleted)]
    assert [d.value for d in docs] == [expected]


def test_prose_mode_without_json_is_an_error() -> None:
    p = fs.Parser(prose=True)
    p.feed("no json here")
    with pytest.raises(fs.IncompleteError, match="no JSON value found"):
        p.close()


@pytest.mark.parametrize("how", SPLITS)
def test_multiple_documents(how: str) -> None:
    text = '{"a": 1}\n{"a": 2}\n[3] "four" 5 6\n'
    _, events = run(chunked(text, how), lambda: fs.Parser(multiple=True))
    docs = [(e.index, e.value) for e in events if isinstance(e, fs.DocumentCompleted)]
    assert docs == [(0, {"a": 1}), (1, {"a": 2}), (2, [3]), (3, "four"), (4, 5), (5, 6)]


def test_multiple_documents_in_prose() -> None:
    _, events = run(['first {"a": 1} then [2] end'], lambda: fs.Parser(prose=True, multiple=True))
    assert [e.value for e in events if isinstance(e, fs.DocumentCompleted)] == [{"a": 1}, [2]]


def test_multiple_allows_an_empty_stream() -> None:
    assert run([" \n"], lambda: fs.Parser(multiple=True))[1] == []


def test_deltas_can_be_turned_off() -> None:
    _, events = run(['{"a": "text"}'], lambda: fs.Parser(deltas=False))
    assert not any(isinstance(e, fs.StringDelta) for e in events)


# -- errors ----------------------------------------------------------------

ERRORS = [
    # (text, message fragment, offset, line, column, path)
    ('{"a": [1, 2,]}', "trailing comma", 12, 1, 13, "$.a[2]"),
    ('{"a": 1,}', "trailing comma", 8, 1, 9, "$.a"),
    ('{"a" 1}', "expected ':'", 5, 1, 6, "$.a"),
    ('{\n  "a": [\n    tru ]\n}', "invalid literal", 15, 3, 5, "$.a[0]"),
    ('{"a": 01}', "invalid number", 7, 1, 8, "$.a"),
    ('["tab\there"]', "control character", 5, 1, 6, "$[0]"),
    ('["bad \\x escape"]', "invalid escape", 6, 1, 7, "$[0]"),
    ("[1] [2]", "after the JSON document", 4, 1, 5, "$"),
    ("{'a': 1}", "expected a string key", 1, 1, 2, "$"),
    ("[1 2]", "expected ',' or ']'", 3, 1, 4, "$[0]"),
    ('{"a": 1]', "expected ',' or '}'", 7, 1, 8, "$.a"),
    ("[NaN]", "expected a JSON value", 1, 1, 2, "$[0]"),
]


@pytest.mark.parametrize("how", SPLITS)
@pytest.mark.parametrize(("text", "fragment", "offset", "line", "column", "path"), ERRORS)
def test_errors_say_where(text: str, fragment: str, offset: int, line: int, column: int, path: str, how: str) -> None:
    with pytest.raises(fs.ParseError) as info:
        run(chunked(text, how))
    error = info.value
    assert fragment in str(error)
    assert (error.offset, error.line, error.column, error.path) == (offset, line, column, path)
    assert f"line {line} column {column}" in str(error)


@pytest.mark.parametrize("text", ['{"a": [1, "tw', '{"a": ', "[1, 2", '"abc', "tr", '{"a": "x\\u00'])
@pytest.mark.parametrize("how", SPLITS)
def test_truncated_input_raises_incomplete_and_keeps_the_snapshot(text: str, how: str) -> None:
    parser = fs.Parser()
    for chunk in chunked(text, how):
        parser.feed(chunk)
    with pytest.raises(fs.IncompleteError):
        parser.close()
    if text.startswith('{"a": [1'):
        assert parser.snapshot == {"a": [1, "tw"]}


def test_empty_input_is_incomplete() -> None:
    with pytest.raises(fs.IncompleteError, match="no JSON document"):
        fs.Parser().close()


def test_snapshot_survives_an_error() -> None:
    p = fs.Parser()
    p.feed('{"done": [1, 2], "typing": "hal')
    with pytest.raises(fs.ParseError) as info:
        p.feed('f\x01"}')
    assert p.snapshot == {"done": [1, 2], "typing": "half"}
    assert info.value.snapshot == {"done": [1, 2], "typing": "half"}


def test_feed_after_error_or_close_is_a_usage_error() -> None:
    p = fs.Parser()
    with pytest.raises(fs.ParseError):
        p.feed("]")
    with pytest.raises(fs.UsageError, match="after a parse error"):
        p.feed("[]")
    q = fs.Parser()
    q.feed("[]")
    q.close()
    with pytest.raises(fs.UsageError, match=r"after close\(\)"):
        q.feed(" ")
    with pytest.raises(fs.UsageError, match=r"after close\(\)"):
        q.close()


def test_feed_rejects_other_types() -> None:
    with pytest.raises(fs.UsageError, match="str or bytes"):
        fs.Parser().feed(42)  # type: ignore[arg-type]


def test_invalid_utf8_is_a_parse_error() -> None:
    p = fs.Parser()
    p.feed(b'{"a": "ok", "b": "x')
    with pytest.raises(fs.ParseError, match="invalid UTF-8"):
        p.feed(b"\xff\xfe")
    assert p.snapshot == {"a": "ok", "b": "x"}
    q = fs.Parser()
    q.feed(b'"\xe2\x82')  # a truncated 3-byte character
    with pytest.raises(fs.ParseError, match="invalid UTF-8"):
        q.close()


def test_mixing_str_into_an_unfinished_utf8_character_is_refused() -> None:
    p = fs.Parser()
    p.feed(b'"\xe2')
    with pytest.raises(fs.UsageError):
        p.feed("x")


def test_all_errors_are_library_errors() -> None:
    assert issubclass(fs.ParseError, fs.FieldstreamError)
    assert issubclass(fs.IncompleteError, fs.ParseError)
    assert issubclass(fs.LimitError, fs.ParseError)
    assert issubclass(fs.UsageError, fs.FieldstreamError)


# -- limits ----------------------------------------------------------------


def test_100000_nested_arrays_hit_the_depth_limit_quickly() -> None:
    p = fs.Parser()
    with pytest.raises(fs.LimitError, match="max_depth=1000") as info:
        p.feed("[" * 100_000)
    assert info.value.offset == 1000


@pytest.mark.parametrize("how", SPLITS)
def test_depth_limit_is_configurable(how: str) -> None:
    run(chunked("[[[1]]]", how), lambda: fs.Parser(max_depth=3))
    with pytest.raises(fs.LimitError):
        run(chunked("[[[[1]]]]", how), lambda: fs.Parser(max_depth=3))


@pytest.mark.parametrize("how", SPLITS)
def test_string_limit(how: str) -> None:
    run(chunked('["12345"]', how), lambda: fs.Parser(max_string_length=5))
    with pytest.raises(fs.LimitError, match="max_string_length=5"):
        run(chunked('["123456"]', how), lambda: fs.Parser(max_string_length=5))
    with pytest.raises(fs.LimitError, match="max_string_length=5"):
        run(chunked('{"123456": 1}', how), lambda: fs.Parser(max_string_length=5))


@pytest.mark.parametrize("how", SPLITS)
def test_number_limit(how: str) -> None:
    run(chunked("[12345]", how), lambda: fs.Parser(max_number_length=5))
    with pytest.raises(fs.LimitError, match="max_number_length=5"):
        run(chunked("[123456]", how), lambda: fs.Parser(max_number_length=5))


def test_huge_integer_is_a_limit_error_not_a_value_error() -> None:
    digits = "9" * 5000
    with pytest.raises(fs.LimitError):
        run([f"[{digits}]"])
    with pytest.raises(fs.LimitError, match="int limit"):
        run([f"[{digits}]"], lambda: fs.Parser(max_number_length=10_000))


@pytest.mark.parametrize("option", ["max_depth", "max_string_length", "max_number_length"])
@pytest.mark.parametrize("value", [0, -1, 1.5, "10"])
def test_bad_limits_are_usage_errors(option: str, value: object) -> None:
    with pytest.raises(fs.UsageError, match=option):
        fs.Parser(**{option: value})  # type: ignore[arg-type]


def test_reprs_are_short() -> None:
    event = fs.ValueCompleted(path=("a",), value="x" * 1000)
    assert len(repr(event)) < 100
    assert repr(fs.StringDelta(path=(0,), text="hi")) == "StringDelta($[0], 'hi')"
    assert "documents=0" in repr(fs.Parser())


def test_events_are_immutable() -> None:
    event = fs.ValueCompleted(path=("a",), value=1)
    with pytest.raises(AttributeError):
        event.value = 2  # type: ignore[misc]


@pytest.mark.parametrize("how", SPLITS)
def test_keep_items_false_drops_completed_items(how: str) -> None:
    text = '{"items": [{"id": 1, "tags": ["a", "b"]}, "two", 3, [4, [5]]], "after": [true]}'
    parser = fs.Parser(keep_items=False)
    events = []
    sizes = []
    for chunk in chunked(text, how):
        events += parser.feed(chunk)
        items = (parser.snapshot or {}).get("items", [])
        sizes.append(len(items))
    events += parser.close()
    assert max(sizes) <= 1  # never more than the unfinished item
    items = [
        e.value for e in events if isinstance(e, fs.ItemCompleted) and e.path[:1] == ("items",) and len(e.path) == 2
    ]
    assert items == [{"id": 1, "tags": ["a", "b"]}, "two", 3, [4, [5]]]
    assert parser.snapshot == {"items": [], "after": []}
    root = fs.Parser(keep_items=False)
    assert [e.value for e in root.feed("[[1, 2], [3]] ") if isinstance(e, fs.ItemCompleted)] == [1, 2, [1, 2], 3, [3]]


def test_parser_of_any_is_the_plain_parser() -> None:
    from typing import Any

    parser = fs.Parser(Any)
    assert type(parser) is fs.Parser
    assert normalize(parser.feed('{"a": [1]}')) == normalize(fs.Parser().feed('{"a": [1]}'))
