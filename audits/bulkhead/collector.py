"""Runs ON THE TARGET: gathers every fact the audit needs and prints one JSON document.

The audit sends this file to the target and runs it with the target's python3 in a single round
trip, whatever the number of checks and containers. It must therefore use the standard library
only and run on any Python 3.7+. Each fact is reported as {"value": ...} or {"error": "why"}, so
the audit can tell "the engine says no" from "we could not find out".
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys

DAEMON_JSON = "/etc/docker/daemon.json"
COMMAND_TIMEOUT = 60


def fact(function, *args):
    try:
        return {"value": function(*args)}
    except FactError as error:
        return {"error": str(error)}
    except Exception as error:  # the audit must see every failure as an error, never crash
        return {"error": "{}: {}".format(type(error).__name__, error)}


class FactError(Exception):
    pass


def run(argv):
    try:
        completed = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise FactError("{} is not installed".format(argv[0])) from None
    except subprocess.TimeoutExpired:
        raise FactError("{} did not answer within {} s".format(" ".join(argv[:3]), COMMAND_TIMEOUT)) from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FactError("{} failed: {}".format(" ".join(argv[:3]), message[-1] if message else completed.returncode))
    return completed.stdout.decode("utf-8", "replace")


def daemon_json():
    try:
        with open(DAEMON_JSON, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return {"exists": False, "settings": {}}
    try:
        settings = json.loads(text) if text.strip() else {}
    except ValueError as error:
        raise FactError("{} is not valid JSON: {}".format(DAEMON_JSON, error)) from error
    if not isinstance(settings, dict):
        raise FactError("{} does not hold a JSON object".format(DAEMON_JSON))
    return {"exists": True, "settings": settings}


def process_cmdlines(name):
    """argv of every running process whose executable is called `name`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/{}/cmdline".format(entry), "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0].decode("utf-8", "replace")) == name:
            found.append([part.decode("utf-8", "replace") for part in argv if part])
    return found


def docker_info():
    return json.loads(run(["docker", "info", "--format", "{{json .}}"]))


def docker_networks():
    ids = run(["docker", "network", "ls", "--quiet", "--no-trunc"]).split()
    if not ids:
        return []
    return json.loads(run(["docker", "network", "inspect", *ids]))


CONTAINERS_DIR = "/etc/containers"
BASELINE = "/var/lib/bulkhead/baseline.json"


# --- bulkhead toml reader: begin (kept identical in audits/bulkhead/collector.py) ---
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


# --- bulkhead toml reader: end ---


def _read_optional(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _toml_file(path):
    text = _read_optional(path)
    if text is None:
        return None
    try:
        return parse_toml(text)
    except TomlError as error:
        raise FactError("{} is not valid TOML: {}".format(path, error)) from None


def _dropins(directory):
    try:
        names = sorted(name for name in os.listdir(directory) if name.endswith(".conf"))
    except FileNotFoundError:
        return []
    return [os.path.join(directory, name) for name in names]


def containers_policy():
    """/etc/containers/policy.json as parsed; a parse error names the file and position."""
    path = os.path.join(CONTAINERS_DIR, "policy.json")
    text = _read_optional(path)
    if text is None:
        return {"path": path, "exists": False, "tools": _container_tools()}
    try:
        policy = json.loads(text)
    except ValueError as error:
        raise FactError("{} is not valid JSON: {}".format(path, error)) from None
    if not isinstance(policy, dict):
        raise FactError("{} does not hold a JSON object".format(path))
    return {"path": path, "exists": True, "policy": policy, "tools": _container_tools()}


def _container_tools():
    """Which of the tools that read /etc/containers are installed."""
    return [tool for tool in ("podman", "buildah", "skopeo") if shutil.which(tool)]


def containers_registries_conf():
    """registries.conf and its drop-ins merged the way containers/image does (later files win)."""
    files = [os.path.join(CONTAINERS_DIR, "registries.conf")]
    files.extend(_dropins(os.path.join(CONTAINERS_DIR, "registries.conf.d")))
    settings = {}
    registries = {}
    aliases = {}
    read = []
    for path in files:
        document = _toml_file(path)
        if document is None:
            continue
        read.append(path)
        for key, value in document.items():
            if key == "registry":
                for entry in value:
                    registries[entry.get("prefix") or entry.get("location", "")] = entry
            elif key == "aliases":
                for name, target in value.items():
                    aliases[name] = {"target": target, "file": path}
            else:
                settings[key] = value
    return {
        "files": read,
        "settings": settings,
        "registries": list(registries.values()),
        "aliases": aliases,
        "tools": _container_tools(),
    }


def containers_conf():
    """The [containers] table of containers.conf (vendor file, /etc file, drop-ins; later wins)."""
    files = ["/usr/share/containers/containers.conf", os.path.join(CONTAINERS_DIR, "containers.conf")]
    files += _dropins(os.path.join(CONTAINERS_DIR, "containers.conf.d"))
    merged = {}
    read = []
    for path in files:
        document = _toml_file(path)
        if document is None:
            continue
        read.append(path)
        merged.update(document.get("containers") or {})
    return {"files": read, "containers": merged, "tools": _container_tools()}


def _sha256(path):
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def _inspect_images(references):
    """{reference: {"id", "repo_digests"} or None when the engine has no such image}."""
    found = {}
    for reference in references:
        try:
            image = json.loads(run(["docker", "image", "inspect", reference]))[0]
        except FactError as error:
            if "No such image" not in str(error):
                raise
            found[reference] = None
            continue
        found[reference] = {"id": image.get("Id"), "repo_digests": sorted(image.get("RepoDigests") or [])}
    return found


def integrity_baseline():
    """The recorded baseline and the same fingerprints taken now. No baseline is an error."""
    text = _read_optional(BASELINE)
    if text is None:
        raise FactError("no integrity baseline at {} (the integrity_baseline role records it)".format(BASELINE))
    try:
        recorded = json.loads(text)
    except ValueError as error:
        raise FactError("{} is not valid JSON: {}".format(BASELINE, error)) from None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), dict):
        raise FactError("{} is not a Bulkhead baseline (no 'files' object)".format(BASELINE))
    images = recorded.get("images") or {}
    current = {
        "files": {path: _sha256(path) for path in recorded["files"]},
        "images": _inspect_images(sorted(images)) if images else {},
    }
    return {"path": BASELINE, "recorded": recorded, "current": current}


def container_images():
    """Running containers with the image reference they were started from and that image's names."""
    ids = run(["docker", "ps", "--quiet", "--no-trunc"]).split()
    if not ids:
        return []
    containers = json.loads(run(["docker", "inspect", *ids]))
    image_ids = sorted({container.get("Image", "") for container in containers} - {""})
    images = {image.get("Id"): image for image in json.loads(run(["docker", "image", "inspect", *image_ids]))}
    found = []
    for container in containers:
        image = images.get(container.get("Image"), {})
        found.append(
            {
                "name": container.get("Name", "").lstrip("/"),
                "reference": (container.get("Config") or {}).get("Image", ""),
                "image_id": container.get("Image", ""),
                "repo_tags": image.get("RepoTags") or [],
                "repo_digests": image.get("RepoDigests") or [],
            }
        )
    return found


def collect():
    return {
        "daemon_json": fact(daemon_json),
        "dockerd_processes": fact(process_cmdlines, "dockerd"),
        "docker_info": fact(docker_info),
        "docker_networks": fact(docker_networks),
        "containers_policy": fact(containers_policy),
        "containers_registries_conf": fact(containers_registries_conf),
        "containers_conf": fact(containers_conf),
        "integrity_baseline": fact(integrity_baseline),
        "container_images": fact(container_images),
    }


if __name__ == "__main__":
    json.dump(collect(), sys.stdout)
