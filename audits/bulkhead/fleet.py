"""Collecting the state of many hosts at once, from one process, while the audit judges those it has.

Collection is waiting for the control node (the network, the collector running on the target's own
CPU), so threads do it: at most ``parallel`` hosts are in flight. Each host has its own deadline,
counted from when its collection starts. A backend that runs a local command (ssh, docker, podman,
local) is given the deadline and kills that command when it passes; any other backend that is
still busy at its deadline is abandoned: its thread (a daemon) is left behind, the host is an
error, and a new thread takes its place, so that one hung host never holds back the others.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bulkhead.facts import HostState

DEFAULT_PARALLEL = 16
DEFAULT_HOST_TIMEOUT = 120.0
# How long after its deadline a host whose backend cannot be interrupted is waited for.
_ABANDON_GRACE = 2.0

Collect = Callable[[Any, str, float], HostState]


class HostTimeout(Exception):
    """The host's collection passed its deadline."""


def timed_out(name: str, timeout: float, seconds: float | None = None) -> HostState:
    return HostState(
        name,
        {},
        timeout if seconds is None else seconds,
        f"state collection on {name} timed out after {timeout:g} s",
    )


def run_local_with_deadline(backend: Any, timeout: float) -> Callable[..., Any]:
    """A replacement for testinfra's ``BaseBackend.run_local`` (same quoting and result) that kills
    the command's whole process group when the deadline passes."""

    def run_local(command: str, *args: str) -> Any:
        encoded = backend.encode(backend.quote(command, *args))
        process = _start(encoded)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise HostTimeout(f"timed out after {timeout:g} s") from None
        return backend.result(process.returncode, encoded, stdout, stderr)

    return run_local


def _start(command: bytes) -> subprocess.Popen[bytes]:
    """The command in its own process group (the shell and the ssh or docker client in it).

    Starting it is tried twice: with many threads starting processes at once, creating one has
    failed here once in a hundred (EFAULT from the exec), before anything ran on the target."""
    for attempt in (1, 2):
        try:
            return subprocess.Popen(
                command,
                shell=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def ssh_control_dir() -> Path:
    """Where ssh keeps its master connections (ControlMaster/ControlPersist): private to this user."""
    configured = os.environ.get("BULKHEAD_SSH_CONTROL_DIR")
    directory = Path(configured) if configured else Path(tempfile.gettempdir()) / f"bulkhead-ssh-{os.getuid()}"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def run_with_docker_api(backend: Any, timeout: float, socket_path: str) -> Callable[..., Any]:
    """A replacement for testinfra's ``DockerBackend.run`` (same command, same result) that asks the
    engine's API instead of starting ``docker exec`` (bulkhead.docker_exec); the CLI when the socket
    turns out to be unusable."""
    from bulkhead.docker_exec import EngineUnusable, ExecTimeout, exec_in_container

    cli = backend.run

    def run(command: str, *args: str, **kwargs: Any) -> Any:
        shell_command = backend.get_command(command, *args)
        try:
            code, stdout, stderr = exec_in_container(
                socket_path, backend.name, ["/bin/sh", "-c", shell_command], backend.user, timeout
            )
        except EngineUnusable:
            return cli(command, *args, **kwargs)
        except ExecTimeout as error:
            raise HostTimeout(str(error)) from None
        return backend.result(code, backend.encode(shell_command), stdout, stderr)

    return run


def prepare_backend(backend: Any, timeout: float) -> None:
    """Deadline on local commands; ssh connections shared through a master per target; docker
    commands through the engine's API where this process can use its socket (else the CLI)."""
    name = getattr(backend, "NAME", "")
    if name in ("ssh", "safe-ssh") and not backend.controlpath:
        # %C: a hash of local host, target, port and user, short enough for a socket path; doubled
        # because testinfra %-formats the ssh command line it builds
        backend.controlpath = str(ssh_control_dir() / "%%C")
    if hasattr(backend, "run_local"):
        backend.run_local = run_local_with_deadline(backend, timeout)
    if name == "docker" and os.environ.get("BULKHEAD_DOCKER_CLI") != "1":
        from bulkhead.docker_exec import engine_socket

        socket_path = engine_socket()
        if socket_path is not None:
            backend.run = run_with_docker_api(backend, timeout, socket_path)


class _Slot:
    """One host's collection: when it started (None: still queued), by which thread, its state when done."""

    def __init__(self, name: str, testinfra_host: Any) -> None:
        self.name = name
        self.testinfra_host = testinfra_host
        self.started: float | None = None
        self.thread: int | None = None
        self.state: HostState | None = None


class _Fleet:
    """The queue of hosts and the threads that collect them."""

    def __init__(
        self,
        hosts: Sequence[tuple[str, Any]],
        collect: Collect,
        timeout: float,
        on_done: Callable[[HostState], None] | None,
    ) -> None:
        self.slots = [_Slot(name, testinfra_host) for name, testinfra_host in hosts]
        self.by_name = {slot.name: slot for slot in self.slots}
        self.queue = list(reversed(self.slots))
        self.collect = collect
        self.timeout = timeout
        self.on_done = on_done
        self.changed = threading.Condition()
        self.abandoned_threads: set[int] = set()

    def start_thread(self) -> None:
        threading.Thread(target=self.work, name="bulkhead-collect", daemon=True).start()

    def work(self) -> None:
        me = threading.get_ident()
        while True:
            with self.changed:
                if not self.queue or me in self.abandoned_threads:
                    return  # nothing left, or a replacement took this thread's place
                slot = self.queue.pop()
                slot.started, slot.thread = time.monotonic(), me
            try:
                state = self.collect(slot.testinfra_host, slot.name, self.timeout)
            except HostTimeout:
                state = timed_out(slot.name, self.timeout, time.monotonic() - slot.started)
            except Exception as error:  # a collect that crashed is that host's error only
                state = HostState(slot.name, {}, time.monotonic() - slot.started, f"cannot reach {slot.name}: {error}")
            self.finish(slot, state)

    def finish(self, slot: _Slot, state: HostState) -> None:
        with self.changed:
            if slot.state is not None:
                return  # abandoned at its deadline: the timeout stands
            slot.state = state
            self.changed.notify_all()
        if self.on_done is not None:
            self.on_done(state)

    def watch(self) -> None:
        """Until every host has a state; abandons hosts past their deadline (and replaces their thread)."""
        with self.changed:
            while True:
                busy = [slot for slot in self.slots if slot.state is None and slot.started is not None]
                if all(slot.state is not None for slot in self.slots):
                    return
                now = time.monotonic()
                for slot in busy:
                    if now - slot.started > self.timeout + _ABANDON_GRACE:
                        slot.state = timed_out(slot.name, self.timeout)
                        self.changed.notify_all()
                        if slot.thread is not None:
                            self.abandoned_threads.add(slot.thread)
                        if self.on_done is not None:
                            self.on_done(slot.state)
                        self.start_thread()
                deadlines = [slot.started + self.timeout + _ABANDON_GRACE for slot in busy if slot.state is None]
                self.changed.wait(max(0.05, min(deadlines) - now) if deadlines else 0.5)

    def state(self, name: str) -> HostState:
        """The host's state, waiting for it as long as its collection may take."""
        slot = self.by_name[name]
        with self.changed:
            self.changed.wait_for(lambda: slot.state is not None)
        assert slot.state is not None
        return slot.state


class FleetCollection:
    """Hosts being collected in the background; ``state(name)`` waits for one host only."""

    def __init__(self, fleet: _Fleet) -> None:
        self._fleet = fleet

    def __contains__(self, name: str) -> bool:
        return name in self._fleet.by_name

    def names(self) -> list[str]:
        """The hosts, in the order they were given (and are collected)."""
        return [slot.name for slot in self._fleet.slots]

    def state(self, name: str) -> HostState:
        return self._fleet.state(name)

    def states(self) -> dict[str, HostState]:
        """Every host's state, by name, in the order the hosts were given."""
        return {slot.name: self._fleet.state(slot.name) for slot in self._fleet.slots}


def start_collection(
    hosts: Sequence[tuple[str, Any]],
    collect: Collect,
    *,
    parallel: int = DEFAULT_PARALLEL,
    timeout: float = DEFAULT_HOST_TIMEOUT,
    on_done: Callable[[HostState], None] | None = None,
) -> FleetCollection:
    """Start collecting every host's state, at most ``parallel`` at a time, and return at once.

    ``collect(testinfra_host, name, timeout)`` returns a HostState (errors included) or raises
    HostTimeout; ``on_done`` is called once per host as its state is known."""
    fleet = _Fleet(hosts, collect, timeout, on_done)
    for _ in range(max(1, min(parallel, len(fleet.slots)))):
        fleet.start_thread()
    threading.Thread(target=fleet.watch, name="bulkhead-deadlines", daemon=True).start()
    return FleetCollection(fleet)


def collect_fleet(
    hosts: Sequence[tuple[str, Any]],
    collect: Collect,
    *,
    parallel: int = DEFAULT_PARALLEL,
    timeout: float = DEFAULT_HOST_TIMEOUT,
    on_done: Callable[[HostState], None] | None = None,
) -> dict[str, HostState]:
    """Every host's state, by name, collected at most ``parallel`` at a time (see start_collection)."""
    return start_collection(hosts, collect, parallel=parallel, timeout=timeout, on_done=on_done).states()


def fleet_hosts(
    specs: Sequence[str | None],
    *,
    connection: str | None = None,
    ssh_config: str | None = None,
    ssh_identity_file: str | None = None,
    sudo: bool = False,
    sudo_user: str | None = None,
    ansible_inventory: str | None = None,
    force_ansible: bool = False,
) -> list[tuple[str, Any]]:
    """(name, testinfra host) of each host spec, as testinfra makes them for its ``host`` fixture and
    in its order (by pytest id); one entry per host name."""
    import testinfra

    made = testinfra.get_hosts(
        list(specs),
        connection=connection,
        ssh_config=ssh_config,
        ssh_identity_file=ssh_identity_file,
        sudo=sudo,
        sudo_user=sudo_user,
        ansible_inventory=ansible_inventory,
        force_ansible=force_ansible,
    )
    hosts: dict[str, Any] = {}
    for testinfra_host in sorted(made, key=lambda made_host: made_host.backend.get_pytest_id()):
        hosts.setdefault(testinfra_host.backend.get_hostname(), testinfra_host)
    return list(hosts.items())


class StartedCollection:
    """A pytest plugin object that hands the audit's session a collection already under way:
    ``bulkhead audit`` starts collecting before it imports pytest, so the targets work (and the
    network is waited for) while the control node starts up."""

    def __init__(self, collection: FleetCollection) -> None:
        self.collection = collection
