import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.subid import (
    SubidError,
    allocate,
    first_free,
    parse,
    plan,
)

PATH = "/etc/subuid"


@pytest.mark.parametrize(
    ("text", "user", "uid", "count", "used_elsewhere", "expected_text", "expected_ranges"),
    [
        ("", "alice", 1000, 65536, [], "alice:100000:65536\n", [(100000, 65536)]),
        (
            "bob:100000:65536\n",
            "alice",
            1000,
            65536,
            [],
            "bob:100000:65536\nalice:165536:65536\n",
            [(165536, 65536)],
        ),
        (  # a gap big enough between two ranges is used
            "bob:100000:1000\ncarol:300000:65536\n",
            "alice",
            1000,
            65536,
            [],
            "bob:100000:1000\ncarol:300000:65536\nalice:101000:65536\n",
            [(101000, 65536)],
        ),
        (  # a gap too small is skipped
            "bob:100000:1000\ncarol:150000:65536\n",
            "alice",
            1000,
            65536,
            [],
            "bob:100000:1000\ncarol:150000:65536\nalice:215536:65536\n",
            [(215536, 65536)],
        ),
        (  # ranges below the minimum do not matter, overlapping ones push up
            "low:1000:5000\nbig:90000:20000\n",
            "alice",
            1000,
            10,
            [],
            "low:1000:5000\nbig:90000:20000\nalice:110000:10\n",
            [(110000, 10)],
        ),
        (  # the other file's ranges are avoided too, so uid and gid ranges coincide
            "",
            "alice",
            1000,
            65536,
            [(100000, 65536)],
            "alice:165536:65536\n",
            [(165536, 65536)],
        ),
        (  # no trailing newline: one is added before the new line, the rest is untouched
            "# managed by hand\nbob:100000:65536",
            "alice",
            1000,
            65536,
            [],
            "# managed by hand\nbob:100000:65536\nalice:165536:65536\n",
            [(165536, 65536)],
        ),
        (  # an existing adequate range is kept as it is
            "alice:500000:70000\n",
            "alice",
            1000,
            65536,
            [],
            "alice:500000:70000\n",
            [(500000, 70000)],
        ),
        (  # a numeric owner is the same user
            "1000:200000:65536\n",
            "alice",
            1000,
            65536,
            [],
            "1000:200000:65536\n",
            [(200000, 65536)],
        ),
        (  # several ranges that add up are adequate
            "alice:100000:30000\nalice:200000:40000\n",
            "alice",
            1000,
            65536,
            [],
            "alice:100000:30000\nalice:200000:40000\n",
            [(100000, 30000), (200000, 40000)],
        ),
        (  # too small: kept, and the shortfall is added
            "alice:100000:1000\n",
            "alice",
            1000,
            65536,
            [],
            "alice:100000:1000\nalice:101000:64536\n",
            [(100000, 1000), (101000, 64536)],
        ),
    ],
    ids=[
        "empty",
        "after-bob",
        "fits-in-gap",
        "skips-small-gap",
        "below-minimum",
        "other-file",
        "no-final-newline",
        "keeps-adequate",
        "numeric-owner",
        "several-ranges",
        "tops-up",
    ],
)
def test_allocation(text, user, uid, count, used_elsewhere, expected_text, expected_ranges):
    new_text, ranges = allocate(text, PATH, user, uid, count, 100000, 600100000, used_elsewhere)
    assert new_text == expected_text
    assert ranges == expected_ranges


@pytest.mark.parametrize(
    ("text", "start", "count", "expected_text"),
    [
        ("", 231072, 65536, "dockremap:231072:65536\n"),
        ("dockremap:231072:65536\n", 231072, 65536, "dockremap:231072:65536\n"),
        (
            "a:100000:65536\r\ndockremap:1:2\r\n# c\r\ndockremap:9:9\r\nz:900000:1\r\n",
            231072,
            65536,
            "a:100000:65536\r\ndockremap:231072:65536\r\n# c\r\nz:900000:1\r\n",
        ),
        (  # adjacent ranges do not overlap
            "bob:100000:131072\n",
            231072,
            65536,
            "bob:100000:131072\ndockremap:231072:65536\n",
        ),
    ],
    ids=["new", "unchanged", "replaced-in-place-crlf", "adjacent"],
)
def test_explicit_range(text, start, count, expected_text):
    new_text, ranges = plan(text, PATH, "dockremap", 998, count, start)
    assert new_text == expected_text
    assert ranges == [(start, count)]


@pytest.mark.parametrize(
    ("text", "start", "count", "message"),
    [
        ("bob:100000:65536\n", 100000, 65536, "line 1: the requested range 100000-165535 for dockremap overlaps bob"),
        ("# x\nbob:100000:65536\n", 165535, 10, "line 2: .* overlaps bob's range 100000-165535"),
        ("bob:200000:10\n", 100000, 100001, "line 1: .* overlaps bob's range 200000-200009"),
    ],
    ids=["same", "last-id", "inside"],
)
def test_overlapping_explicit_range_is_refused(text, start, count, message):
    with pytest.raises(SubidError, match=f"^{PATH} {message}"):
        plan(text, PATH, "dockremap", 998, count, start)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bob:100000\n", "line 1 is malformed: expected name:start:count"),
        ("# ok\nbob:100000:65536:x\n", "line 2 is malformed: expected name:start:count"),
        ("bob:1e5:65536\n", "line 1 is malformed: start and count must be decimal numbers"),
        ("bob:-1:65536\n", "line 1 is malformed: start and count must be decimal numbers"),
        ("\n\n:100000:65536\n", "line 3 is malformed: expected name:start:count"),
        ("bob:100000:0\n", "line 1 is malformed: count is 0"),
    ],
    ids=["two-fields", "four-fields", "not-decimal", "negative", "no-name", "zero-count"],
)
def test_malformed_files_are_refused_naming_file_and_line(text, message):
    with pytest.raises(SubidError, match=f"^{PATH} {message}"):
        parse(text, PATH)
    with pytest.raises(SubidError):
        allocate(text, PATH, "alice", 1000, 65536, 100000, 600100000)


def test_comments_blank_lines_and_odd_bytes_survive():
    text = "# site ranges\n\n  # indented\nb\udcffb:100000:65536\nbob:165536:65536\n"
    new_text, _ranges = allocate(text, PATH, "alice", 1000, 65536, 100000, 600100000)
    assert new_text.startswith(text)


def test_absent_removes_only_the_users_lines():
    text = "a:1:1\nalice:100000:65536\n# keep\n1000:300000:1\nz:2:2"
    new_text, ranges = plan(text, PATH, "alice", 1000, 65536, state="absent")
    assert new_text == "a:1:1\n# keep\nz:2:2"
    assert ranges == []


def test_no_room_left_is_an_error():
    with pytest.raises(SubidError, match="no free range of 65536 ids between 100000 and 150000"):
        first_free([], 65536, 100000, 150000)
    assert first_free([(100000, 50000)], 1, 100000, 150000) == 150000
