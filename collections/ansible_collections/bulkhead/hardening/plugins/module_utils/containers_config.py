# Copyright: Bulkhead contributors
# Apache License 2.0
"""Pure logic behind containers_config: parse, validate and write the containers/* files.

Podman, Buildah and Skopeo read policy.json (JSON), registries.conf and containers.conf (TOML)
and registries.d/*.yaml. A malformed file already on the host must be reported with its path and
position, and a rendered file must parse before it is installed. Targets may run a Python without
``tomllib`` (before 3.11), so a small TOML reader covering what these files use is included (the
audit needs none: it parses the files the collector brings with Python's own ``tomllib``).

No Ansible imports here, so unit tests exercise it directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


class ContainersConfigError(Exception):
    """Anything that must stop the module before it writes."""


_TOML_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class TomlError(ValueError):
    """A TOML document is malformed; the message names the line and column."""


class _TomlReader(object):
    """A strict reader for the TOML subset used by registries.conf and containers.conf.

    Supports tables, arrays of tables, dotted and quoted keys, basic and literal strings (also
    multi-line), integers, floats, booleans, arrays (across lines) and inline tables. Dates are
    refused with a clear message rather than misread.
    """

    def __init__(self, text):
        self.text = text
        self.pos = 0

    def error(self, message, pos=None):
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return TomlError("line %d column %d: %s" % (line, column, message))

    def peek(self, count=1):
        return self.text[self.pos : self.pos + count]

    def skip_blank(self, newlines):
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def end_of_line(self):
        self.skip_blank(False)
        if self.pos < len(self.text) and self.text[self.pos] not in "\r\n":
            raise self.error("expected the end of the line, found %r" % self.text[self.pos])

    def parse(self):
        root = {}
        current = root
        while True:
            self.skip_blank(True)
            if self.pos >= len(self.text):
                return root
            if self.peek(2) == "[[":
                self.pos += 2
                keys = self.key()
                if self.peek(2) != "]]":
                    raise self.error("expected ']]' after the table name")
                self.pos += 2
                parent = self.descend(root, keys[:-1])
                tables = parent.setdefault(keys[-1], [])
                if not isinstance(tables, list):
                    raise self.error("%s is already defined as a value" % ".".join(keys))
                current = {}
                tables.append(current)
            elif self.peek() == "[":
                self.pos += 1
                keys = self.key()
                if self.peek() != "]":
                    raise self.error("expected ']' after the table name")
                self.pos += 1
                current = self.descend(root, keys)
            else:
                start = self.pos
                keys = self.key()
                if self.peek() != "=":
                    raise self.error("expected '=' after the key")
                self.pos += 1
                self.skip_blank(False)
                value = self.value()
                target = self.descend(current, keys[:-1])
                if keys[-1] in target:
                    raise self.error("duplicate key %s" % ".".join(keys), start)
                target[keys[-1]] = value
            self.end_of_line()

    def descend(self, table, keys):
        for key in keys:
            table = table.setdefault(key, {})
            if isinstance(table, list):
                table = table[-1]
            if not isinstance(table, dict):
                raise self.error("%s is already defined as a value" % key)
        return table

    def key(self):
        keys = []
        while True:
            self.skip_blank(False)
            char = self.peek()
            if char == '"':
                keys.append(self.basic_string())
            elif char == "'":
                keys.append(self.literal_string())
            else:
                start = self.pos
                while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "_-"):
                    self.pos += 1
                if start == self.pos:
                    raise self.error("expected a key")
                keys.append(self.text[start : self.pos])
            self.skip_blank(False)
            if self.peek() != ".":
                return keys
            self.pos += 1

    def value(self):
        char = self.peek()
        if self.peek(3) in ('"""', "'''"):
            return self.multiline_string()
        if char == '"':
            return self.basic_string()
        if char == "'":
            return self.literal_string()
        if char == "[":
            return self.array()
        if char == "{":
            return self.inline_table()
        for word, result in (("true", True), ("false", False)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return result
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in " \t\r\n,]}#":
            self.pos += 1
        token = self.text[start : self.pos].replace("_", "")
        if not token:
            raise self.error("expected a value")
        for convert in (int, float):
            try:
                return convert(token, 0) if convert is int else convert(token)
            except ValueError:
                continue
        raise self.error("unsupported or malformed value %r" % self.text[start : self.pos], start)

    def basic_string(self):
        self.pos += 1
        parts = []
        while True:
            if self.pos >= len(self.text) or self.text[self.pos] in "\r\n":
                raise self.error("unterminated string")
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(parts)
            if char == "\\":
                code = self.text[self.pos + 1 : self.pos + 2]
                if code in _TOML_ESCAPES:
                    parts.append(_TOML_ESCAPES[code])
                    self.pos += 2
                elif code in ("u", "U"):
                    width = 4 if code == "u" else 8
                    digits = self.text[self.pos + 2 : self.pos + 2 + width]
                    try:
                        parts.append(chr(int(digits, 16)))
                    except ValueError:
                        raise self.error("bad unicode escape") from None
                    self.pos += 2 + width
                else:
                    raise self.error("bad escape sequence")
                continue
            parts.append(char)
            self.pos += 1

    def literal_string(self):
        end = self.text.find("'", self.pos + 1)
        newline = self.text.find("\n", self.pos + 1)
        if end < 0 or (0 <= newline < end):
            raise self.error("unterminated string")
        value = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return value

    def multiline_string(self):
        quote = self.peek(3)
        end = self.text.find(quote, self.pos + 3)
        if end < 0:
            raise self.error("unterminated multi-line string")
        value = self.text[self.pos + 3 : end]
        self.pos = end + 3
        if value.startswith("\n"):
            value = value[1:]
        if quote == '"""' and "\\" in value:
            raise self.error("escapes in multi-line strings are not supported here")
        return value

    def array(self):
        self.pos += 1
        items = []
        while True:
            self.skip_blank(True)
            if self.peek() == "]":
                self.pos += 1
                return items
            items.append(self.value())
            self.skip_blank(True)
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "]":
                raise self.error("expected ',' or ']' in the array")

    def inline_table(self):
        self.pos += 1
        table = {}
        self.skip_blank(False)
        if self.peek() == "}":
            self.pos += 1
            return table
        while True:
            keys = self.key()
            if self.peek() != "=":
                raise self.error("expected '=' after the key")
            self.pos += 1
            self.skip_blank(False)
            target = self.descend(table, keys[:-1])
            target[keys[-1]] = self.value()
            self.skip_blank(False)
            if self.peek() == "}":
                self.pos += 1
                return table
            if self.peek() != ",":
                raise self.error("expected ',' or '}' in the inline table")
            self.pos += 1


def parse_toml(text):
    """The document as dicts and lists; TomlError names line and column. Uses tomllib if present."""
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        return _TomlReader(text).parse()
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TomlError(str(error)) from None


FORMATS = ("json", "toml", "yaml", "text")


def parse(text, fmt, path):
    """Parse ``text`` as ``fmt``; ContainersConfigError names the file and the position."""
    try:
        if fmt == "json":
            return json.loads(text)
        if fmt == "toml":
            return parse_toml(text)
        if fmt == "yaml":
            try:
                import yaml
            except ImportError:
                return None  # nothing to check with on this target; the file is written as rendered
            try:
                return yaml.safe_load(text)
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                where = "line %d column %d" % (mark.line + 1, mark.column + 1) if mark else "unknown position"
                raise ContainersConfigError("%s is not valid YAML (%s: %s)" % (path, where, error)) from None
        return text
    except ValueError as error:
        raise ContainersConfigError("%s is not valid %s (%s)" % (path, fmt.upper(), error)) from None


def check_policy(document, path):
    """Refuse a policy.json that containers/image would reject or that admits everything by default."""
    if not isinstance(document, dict):
        raise ContainersConfigError("%s must hold a JSON object" % path)
    default = document.get("default")
    if not isinstance(default, list) or not default:
        raise ContainersConfigError("%s: 'default' must be a non-empty list of requirements" % path)
    for transport, scopes in (document.get("transports") or {}).items():
        if not isinstance(scopes, dict):
            raise ContainersConfigError("%s: transports.%s must map scopes to requirements" % (path, transport))
        for scope, requirements in scopes.items():
            if not isinstance(requirements, list) or not requirements:
                raise ContainersConfigError(
                    "%s: transports.%s[%r] must be a non-empty list of requirements" % (path, transport, scope)
                )
            for requirement in requirements:
                if not isinstance(requirement, dict) or "type" not in requirement:
                    raise ContainersConfigError(
                        "%s: transports.%s[%r]: every requirement needs a 'type'" % (path, transport, scope)
                    )
                if requirement["type"] in ("signedBy", "sigstoreSigned"):
                    keys = [name for name in ("keyPath", "keyPaths", "keyData") if name in requirement]
                    if len(keys) != 1:
                        raise ContainersConfigError(
                            "%s: transports.%s[%r]: a %s requirement needs exactly one of keyPath, keyPaths, keyData"
                            % (path, transport, scope, requirement["type"])
                        )
