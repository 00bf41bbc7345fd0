# Copyright: Bulkhead contributors
# Apache License 2.0
"""Pure logic behind the subid module: parse /etc/subuid and /etc/subgid, plan one user's ranges.

No Ansible imports here, so unit tests exercise it directly; the module turns SubidError into
fail_json in one place. Every line that is not the managed user's (other users, comments, blank
lines, the file's own line endings) is kept byte for byte: the text is decoded with
``surrogateescape`` and only the user's own lines are replaced or appended.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno

# login.defs defaults of shadow-utils (SUB_UID_MIN / SUB_UID_MAX).
DEFAULT_MINIMUM = 100000
DEFAULT_MAXIMUM = 600100000
DEFAULT_COUNT = 65536
ENCODING = "utf-8"


class SubidError(Exception):
    """Anything that must stop the module before it writes."""


class Line(object):
    """One physical line of a subordinate id file; ``owner`` is None for comments and blanks."""

    __slots__ = ("count", "number", "owner", "raw", "start")

    def __init__(self, number, raw, owner=None, start=None, count=None):
        self.number = number
        self.raw = raw
        self.owner = owner
        self.start = start
        self.count = count

    @property
    def end(self):
        return self.start + self.count

    def overlaps(self, start, count):
        return self.owner is not None and start < self.end and self.start < start + count


def decode(data):
    return data.decode(ENCODING, "surrogateescape")


def encode(text):
    return text.encode(ENCODING, "surrogateescape")


def parse(text, path):
    """Every line of ``text`` (line endings kept); a malformed entry raises naming file and line."""
    lines = []
    for number, raw in enumerate(text.splitlines(True), start=1):
        content = raw.rstrip("\r\n")
        stripped = content.strip()
        if not stripped or stripped.startswith("#"):
            lines.append(Line(number, raw))
            continue
        fields = content.split(":")
        if len(fields) != 3 or not fields[0]:
            raise SubidError(
                "%s line %d is malformed: expected name:start:count, got %r; nothing was changed"
                % (path, number, content)
            )
        owner, start, count = fields
        if not (start.isdigit() and count.isdigit()):
            raise SubidError(
                "%s line %d is malformed: start and count must be decimal numbers, got %r; nothing was changed"
                % (path, number, content)
            )
        if int(count) < 1:
            raise SubidError("%s line %d is malformed: count is 0 in %r; nothing was changed" % (path, number, content))
        lines.append(Line(number, raw, owner, int(start), int(count)))
    return lines


def owned_by(line, user, uid):
    return line.owner is not None and (line.owner == user or (uid is not None and line.owner == str(uid)))


def ranges_of(lines, user, uid):
    return [(line.start, line.count) for line in lines if owned_by(line, user, uid)]


def first_free(used, count, minimum, maximum):
    """Lowest start >= minimum where [start, start+count) overlaps none of ``used`` and ends by maximum."""
    candidate = minimum
    for start, length in sorted(used):
        if start + length <= candidate:
            continue
        if candidate + count <= start:
            break
        candidate = start + length
    if candidate + count - 1 > maximum:
        raise SubidError(
            "no free range of %d ids between %d and %d (raise maximum or free some ranges)" % (count, minimum, maximum)
        )
    return candidate


def plan(text, path, user, uid, count, start=None, state="present"):
    """The wanted text of one file and the user's resulting ranges.

    - ``start`` given: the user gets exactly [start, start+count); a range of another user that
      overlaps it is an error naming the file, line and owner.
    - ``start`` None: ranges the user already has are kept when they add up to ``count``;
      otherwise the text is None and allocate() adds a range for the shortfall.
    - ``state`` absent: the user's lines are removed.
    Returns (new_text, ranges); new_text is the unchanged text when nothing needs to change.
    """
    lines = parse(text, path)
    own = [line for line in lines if owned_by(line, user, uid)]
    others = [line for line in lines if line.owner is not None and not owned_by(line, user, uid)]

    if state == "absent":
        return "".join(line.raw for line in lines if not owned_by(line, user, uid)), []

    if start is not None:
        for line in others:
            if line.overlaps(start, count):
                raise SubidError(
                    "%s line %d: the requested range %d-%d for %s overlaps %s's range %d-%d; nothing was changed"
                    % (path, line.number, start, start + count - 1, user, line.owner, line.start, line.end - 1)
                )
        if [(line.start, line.count) for line in own] == [(start, count)]:
            return text, [(start, count)]
        return _replace_own(lines, user, uid, [(start, count)]), [(start, count)]

    current = [(line.start, line.count) for line in own]
    have = sum(length for _start, length in current)
    if have >= count:
        return text, current
    return None, current  # the caller allocates (it knows the other file's ranges)


def allocate(text, path, user, uid, count, minimum, maximum, used_elsewhere=()):
    """Keep the user's ranges when they add up to ``count``, else add one range for the shortfall.

    The new range starts at the lowest id at or above ``minimum`` that is free in this file and
    in ``used_elsewhere`` (other users' ranges in the other file), so that a user's uid and gid
    ranges normally coincide.
    """
    new_text, current = plan(text, path, user, uid, count)
    if new_text is not None:
        return new_text, current
    lines = parse(text, path)
    shortfall = count - sum(length for _start, length in current)
    used = [(line.start, line.count) for line in lines if line.owner is not None] + list(used_elsewhere)
    start = first_free(used, shortfall, minimum, maximum)
    ranges = [*current, (start, shortfall)]
    return _append(text, "%s:%d:%d" % (user, start, shortfall)), ranges


def _replace_own(lines, user, uid, ranges):
    """Text with the user's lines replaced by ``ranges`` at the place of the user's first line."""
    output = []
    placed = False
    for line in lines:
        if not owned_by(line, user, uid):
            output.append(line.raw)
        elif not placed:
            ending = line.raw[len(line.raw.rstrip("\r\n")) :] or "\n"
            output.extend("%s:%d:%d%s" % (user, start, count, ending) for start, count in ranges)
            placed = True
    text = "".join(output)
    if not placed:
        for start, count in ranges:
            text = _append(text, "%s:%d:%d" % (user, start, count))
    return text


def _append(text, entry):
    if text and not text.endswith("\n"):
        text += "\n"
    return text + entry + "\n"


def read_text(path):
    try:
        with open(path, "rb") as handle:
            return decode(handle.read()), True
    except IOError as error:
        if error.errno == errno.ENOENT:
            return "", False
        raise SubidError("cannot read %s: %s" % (path, error)) from error
