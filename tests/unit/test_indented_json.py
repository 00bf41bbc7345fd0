"""The JSON report's encoder writes exactly what json.dumps(indent=2) writes."""

import json

import pytest

from bulkhead.report import indented_json

VALUES = [
    {},
    [],
    "",
    0,
    -7,
    2**70,
    1.5,
    1e-7,
    1e22,
    -0.0,
    True,
    False,
    None,
    {"a": {}, "b": [], "c": [{}, [], [[]]], "d": {"e": {"f": None}}},
    {"unicode": "héllo \u2603 \U0001f600", "control": "tab\there\nline \x00 \x1f", "quote": '"\\/'},
    ["mixed", 1, 2.25, None, True, {"nested": ["x", {"y": 1}]}],
    ("a", "tuple"),
    {"é": "non-ascii key", "": "empty key"},
]


@pytest.mark.parametrize("value", VALUES, ids=[repr(value)[:30] for value in VALUES])
def test_the_text_is_the_standard_librarys(value):
    assert indented_json.dumps(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize("value", [{1: "int key"}, {"nan": float("nan")}, {"inf": float("inf")}, {"set": {1}}])
def test_what_it_does_not_handle_is_left_to_the_standard_library(value):
    if isinstance(value.get("set"), set):
        with pytest.raises(TypeError):
            indented_json.dumps(value)
    else:
        assert indented_json.dumps(value) == json.dumps(value, indent=2)


def test_an_audit_report_is_the_same_text(tmp_path):
    from bulkhead.catalogue import load_catalogue
    from bulkhead.report.jsondoc import json_report
    from bulkhead.results import Outcome, ResultBook

    book = ResultBook()
    book.record("web-1", "5.4", Outcome.FAIL, "container app: runs --privileged", 0.001)
    book.record("web-1", "2.2", Outcome.PASS, None, 0.002)
    book.record("db-ß", "5.4", Outcome.ERROR, "cannot determine: ssh: connect refused", 0.0)
    text = json_report(book, load_catalogue(), {"web-1": {"engines": ["docker (rootful)"], "containers": 3}}, 1.25)
    assert text == json.dumps(json.loads(text), indent=2) + "\n"
