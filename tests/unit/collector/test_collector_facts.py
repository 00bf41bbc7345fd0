"""collector/facts.py: the shape of a fact, and the helpers the collector's modules share."""

import os
import stat

from bulkhead.collector import facts


def test_a_fact_is_a_value_or_an_error_never_an_exception():
    def refuse():
        raise facts.FactError("the engine says no")

    assert facts.fact(lambda a, b: a + b, 1, 2) == {"value": 3}
    assert facts.fact(refuse) == {"error": "the engine says no"}
    assert facts.fact(lambda: {}["missing"]) == {"error": "KeyError: 'missing'"}


def test_run_reports_the_last_line_of_a_failing_command():
    assert facts.run(["sh", "-c", "echo out"]) == "out\n"
    assert facts.fact(facts.run, ["sh", "-c", "echo first >&2; echo last >&2; exit 3"]) == {
        "error": "sh -c echo first >&2; echo last >&2; exit 3 failed: last"
    }
    assert facts.fact(facts.run, ["bulkhead-no-such-command"]) == {"error": "bulkhead-no-such-command is not installed"}


def test_the_collector_stats_paths_with_owner_group_and_mode(tmp_path):
    target = tmp_path / "daemon.json"
    target.write_text("{}")
    target.chmod(0o640)
    stats = facts.stat_paths([str(target), str(tmp_path / "absent")])
    assert stats[str(tmp_path / "absent")] == {"exists": False}
    found = stats[str(target)]
    assert found["mode"] == "0640" and found["type"] == "file"
    assert found["uid"] == os.getuid() and stat.S_ISREG(os.stat(target).st_mode)


def test_option_values_in_both_spellings():
    argv = ["dockerd", "-H", "fd://", "--host=unix:///srv/docker.sock", "--host"]
    assert facts.options(argv, "-H", "--host") == ["fd://", "unix:///srv/docker.sock"]
    assert facts.option(argv, "--tlscacert") is None


def test_engine_labels():
    assert facts.engine_label({"kind": "docker", "mode": "rootful", "user": None}) == "docker (rootful)"
    label = facts.engine_label({"kind": "podman", "mode": "rootless", "user": "alice"})
    assert label == "podman (rootless, user alice)"
