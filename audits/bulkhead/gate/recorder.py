"""``bulkhead gate serve --record DIR``: keep every judged request as a JSON fixture, secrets removed.

Environment values are cut to names (``NAME=``) in create and exec bodies, and request headers,
which may carry registry credentials (``X-Registry-Auth``), are dropped.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from pathlib import Path
from typing import Any

from bulkhead.gate.request import AuthzRequest, RequestError, route


class Recorder:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self, message: dict[str, Any]) -> None:
        try:
            routed = route(AuthzRequest.from_message(message))
        except RequestError:
            routed = ("unreadable", "")
        if routed is None:
            return
        with self._lock:
            number = next(self._numbers)
        path = self.directory / f"{number:03d}-{routed[0]}.json"
        path.write_text(json.dumps(scrub(message), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def scrub(message: dict[str, Any]) -> dict[str, Any]:
    kept = {key: message[key] for key in ("User", "UserAuthNMethod", "RequestMethod", "RequestUri") if key in message}
    encoded = message.get("RequestBody")
    if encoded:
        try:
            body = json.loads(base64.b64decode(encoded))
        except (ValueError, TypeError):
            body = None
        if isinstance(body, dict):
            if isinstance(body.get("Env"), list):
                body["Env"] = [str(item).split("=", 1)[0] + "=" for item in body["Env"]]
            kept["RequestBody"] = base64.b64encode(json.dumps(body, sort_keys=True).encode()).decode()
            kept["RequestBodyDecoded"] = body  # for reading the fixture; the gate reads RequestBody
        else:
            kept["RequestBody"] = encoded
    kept["RequestHeaders"] = {"Content-Type": "application/json"} if encoded else {}
    return kept
