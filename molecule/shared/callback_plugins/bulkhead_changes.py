"""Record every result of a bulkhead.hardening role's task in a molecule run (check mode or not).

Enabled for every scenario by .config/molecule/config.yml. Each result goes as one JSON line to
``$MOLECULE_EPHEMERAL_DIRECTORY/role-results.jsonl``: whether the run was in check mode, the task, its
action, whether it changed something, the result as the default callback prints it at -vvv, and its
--diff text. molecule/shared/files/changes_predicted.py reads it to prove that the check-mode run
listed every file the real run then changed, and that no canary reached a result.
"""

from __future__ import annotations

import json
import os

from ansible import context
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bulkhead_changes
type: aggregate
short_description: record the bulkhead.hardening roles' task results for the molecule scenarios
description: One JSON line per result in $MOLECULE_EPHEMERAL_DIRECTORY/role-results.jsonl.
requirements: [enabled in callbacks_enabled]
"""

RESULTS_FILE = "role-results.jsonl"
ROLES = os.sep + os.path.join("bulkhead", "hardening", "roles") + os.sep


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bulkhead_changes"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        directory = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
        task = result._task
        role = getattr(task, "_role", None)
        if not directory or role is None or ROLES not in (getattr(role, "_role_path", "") or "") + os.sep:
            return
        values = result._result
        check = bool(task.check_mode) if task.check_mode is not None else bool(context.CLIARGS.get("check"))
        diffs = []
        for item in [values, *(values.get("results") or [])]:
            if isinstance(item, dict) and item.get("diff") and item.get("changed"):
                diffs.append(self._get_diff(item["diff"]))
        line = {
            "check": check,
            "role": role.get_name(),
            "task": task.get_name(),
            "action": task.action,
            "status": status,
            "changed": bool(values.get("changed")),
            "result": self._dump_results(dict(values), indent=4, keep_invocation=True),
            "diff": "".join(diffs),
        }
        with open(os.path.join(directory, RESULTS_FILE), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")
