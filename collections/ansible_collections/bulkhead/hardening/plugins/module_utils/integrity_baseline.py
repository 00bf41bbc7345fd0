# Copyright: Bulkhead contributors
# Apache License 2.0
"""Pure logic behind integrity_baseline: fingerprints of engine files and approved images.

The baseline holds no timestamp, so recording the same state twice writes nothing (idempotent,
exact check mode). No Ansible imports here, so unit tests exercise it directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

FORMAT_VERSION = 1


class BaselineError(Exception):
    """Anything that must stop the module before it writes."""


def sha256_file(path):
    """Hex sha256 of a file, or None when it does not exist (a missing file is recorded as such)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except IOError as error:
        if error.errno == 2:
            return None
        raise BaselineError("cannot read %s: %s" % (path, error)) from error
    return digest.hexdigest()


def split_reference(reference):
    """(registry host, repository path) of an image reference, with Docker's defaults for short names.

    The digest is dropped, the tag is kept. A first component with a dot or a colon, or
    ``localhost``, is a registry host; anything else is on docker.io (``library/`` for one
    component). The audit (bulkhead.images) follows the same rules; the cases both must agree on
    are in the repository's tests/data/image_references.yml.
    """
    name = reference.split("@", 1)[0]
    first, _separator, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    if not rest:
        return "docker.io", "library/" + name
    return "docker.io", name


def repository(reference):
    """``host/path`` without tag or digest: ``busybox:1`` -> ``docker.io/library/busybox``."""
    host, path = split_reference(reference)
    head, _slash, last = path.rpartition("/")
    # Only the last component can carry a tag: a colon before it belongs to a registry port.
    last = last.rsplit(":", 1)[0]
    return "%s/%s" % (host, head + "/" + last if head else last)


def registry_matches(reference, registry):
    """Whether ``reference`` lies under ``registry`` (``host[:port]`` or ``host[:port]/namespace``).

    A namespace covers the repository of that name and everything below it, whatever the tag or
    digest: ``registry.example.com/platform:1.0`` is under ``registry.example.com/platform``.
    """
    registry = registry.rstrip("/")
    host, _path = split_reference(reference)
    if "/" not in registry:
        return host == registry
    return (repository(reference) + "/").startswith(registry + "/")


def approved_images(images, registries):
    """{reference: {"id", "repo_digests"}} for every local image with a name under an approved registry.

    ``images`` is ``docker image inspect`` output. Tags name the entries; an image that has only
    digests is named by its first digest.
    """
    recorded = {}
    for image in images:
        tags = image.get("RepoTags") or []
        digests = sorted(image.get("RepoDigests") or [])
        names = [name for name in tags + digests if any(registry_matches(name, r) for r in registries)]
        if not names:
            continue
        entry = {"id": image.get("Id"), "repo_digests": digests}
        keys = [name for name in tags if name in names] or names[:1]
        for key in keys:
            recorded[key] = entry
    return recorded


def build(files, images, registries):
    return {
        "format": FORMAT_VERSION,
        "approved_registries": sorted(registries),
        "files": {path: sha256_file(path) for path in sorted(files)},
        "images": approved_images(images, registries),
    }


def render(document):
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def parse_existing(text, path):
    try:
        document = json.loads(text)
    except ValueError as error:
        raise BaselineError("%s is not valid JSON (%s)" % (path, error)) from error
    if not isinstance(document, dict):
        raise BaselineError("%s does not hold a JSON object" % path)
    return document
