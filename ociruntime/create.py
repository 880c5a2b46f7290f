"""``create``: an OCI bundle becomes a container whose init waits on the exec fifo.

This is the one long path of the runtime, written as an ordered list of steps whose
comments say why each is where it is (spec clause, kernel rule or CVE). The container's
side of it is ``init.run_init``; the protocol between the two is in ``channel.py``.
"""

from __future__ import annotations

import os
import time

from ociruntime import SPEC_VERSION, hooks, state
from ociruntime import fastjson as json
from ociruntime.channel import SECCOMP_LISTENER, SECCOMP_LISTENER_DONE
from ociruntime.errors import CgroupError, HookError, InitError, OCIRuntimeError, SyscallError
from ociruntime.log import Logger
from ociruntime.record import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@dataclass
class CreateOptions:
    """The flags of ``create`` (and ``run``)."""

    root: str
    container_id: str
    bundle: str = "."
    console_socket: str | None = None
    pid_file: str | None = None
    no_pivot: bool = False
    no_new_keyring: bool = False
    preserve_fds: int = 0
    #: ``create`` and ``run -d`` detach; a foreground ``run`` does not
    detach: bool = True
    #: a foreground ``run -t`` receives the pty master itself, over this fd
    console_fd: int | None = None
    #: global ``--systemd-cgroup`` (remembered in the state: podman passes it only here)
    systemd_cgroup: bool = False
    rootless: bool = False
    #: config.json as a foreground ``run`` already read it (to see whether it needs a
    #: terminal): the container is made from those same bytes, not from a second read
    config_bytes: bytes | None = None


def _now_rfc3339nano() -> str:
    now = time.time_ns()
    secs = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 1_000_000_000))
    return f"{secs}.{now % 1_000_000_000:09d}Z"


def create(opts: CreateOptions, log: Logger) -> int:
    """Create the container and leave its init blocked on the exec fifo; returns its pid."""
    # Lazy imports: state/start/kill/delete never pay for the create path's modules.
    from ociruntime import bundle as bundle_mod
    from ociruntime import capabilities, capnames, namespaces
    from ociruntime import init as init_mod
    from ociruntime import process as process_mod

    # The id is checked before anything exists, so a bad id creates nothing.
    state.check_id(opts.container_id)
    root = state.ensure_root(opts.root)
    pid_file = os.path.abspath(opts.pid_file) if opts.pid_file else None

    # Two-layer validation: JSON Schema (cached by content digest), then runc's semantic
    # checks. Every error names the field; nothing has been created yet.
    b = bundle_mod.load(opts.bundle, cache_dir=os.path.join(root, ".schema-cache"),
                        raw=opts.config_bytes)
    for w in b.warnings:
        log.warning(w)
    config = b.config
    proc = config.get("process") or {}
    linux = config.get("linux") or {}
    check_terminal(bool(proc.get("terminal")), opts.detach, opts.console_socket)
    from ociruntime import sched

    sched.check(proc, linux)
    if opts.no_pivot and linux.get("rootfsPropagation") in ("private", "rprivate"):
        # runc: with MS_MOVE the old root stays reachable; private propagation would let
        # the host's mounts below it stay pinned in the container.
        raise OCIRuntimeError("rootfsPropagation of [r]private is not safe without pivot_root")

    # CVE-2019-5736: a container that may hold CAP_SYS_PTRACE in the host user namespace
    # could reach our interpreter through the init's /proc/<pid>/exe; run from a sealed
    # copy then (seal.py explains the layers). Nothing exists yet, so restarting is free.
    from ociruntime import seal

    ns = namespaces.plan(linux.get("namespaces"))
    if seal.needs_seal(proc, ns.has("user")) and not seal.exe_is_sealed():
        seal.reexec_sealed()

    # The cgroup manager is built before anything exists: a bad cgroupsPath or a missing
    # systemd fails here, leaving nothing behind.
    from ociruntime import cgroups

    mgr = cgroups.new_manager(
        opts.container_id, linux.get("cgroupsPath"), linux.get("resources"),
        systemd=opts.systemd_cgroup, rootless=opts.rootless,
        linux_devices=linux.get("devices"), annotations=config.get("annotations"),
    )

    # Relative bind-mount sources and hook cwd are relative to the bundle (runc chdirs).
    os.chdir(b.path)

    # Claim <root>/<id> with an atomic mkdir: from here on, failure undoes what we made.
    state_dir = state.claim(root, opts.container_id)
    init_pid = 0
    hook_failed = False
    chan = None
    console_sock = None
    fifo_fd = -1
    try:
        # The exec fifo is the create/start barrier (runtime.md#start): the init blocks
        # opening it for writing until `start` opens it for reading. Owned by container
        # root so the init can still open it after dropping privileges.
        root_uid = namespaces.host_id(linux.get("uidMappings"), 0) if ns.has("user") else 0
        root_gid = namespaces.host_id(linux.get("gidMappings"), 0) if ns.has("user") else 0
        fifo = os.path.join(state_dir, state.EXEC_FIFO)
        old = os.umask(0)
        try:
            os.mkfifo(fifo, 0o622)
        finally:
            os.umask(old)
        os.chown(fifo, root_uid, root_gid)
        fifo_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)

        # The console socket is connected here, in the runtime, before the init starts.
        console_fd = opts.console_fd
        if proc.get("terminal") and opts.console_socket:
            from ociruntime import console

            try:
                console_sock = console.connect_socket(opts.console_socket)
            except OSError as exc:
                raise SyscallError.from_oserror("connect console socket", exc,
                                                opts.console_socket) from None
            console_fd = console_sock.fileno()

        # Socket activation (sd_listen_fds): fds 3.. handed to us are passed on, and the
        # container is told LISTEN_FDS=n, LISTEN_PID=1, as runc does.
        listen = 0
        if os.environ.get("LISTEN_PID") == str(os.getpid()):
            listen = int(os.environ.get("LISTEN_FDS") or 0)
        # (Only the init's environment: the saved config, which exec reuses, is untouched.)
        extra_env = [f"LISTEN_FDS={listen}", "LISTEN_PID=1"] if listen else []

        # Seccomp is compiled here, in the runtime (the init must not import or read files
        # after pivot_root); the BPF is cached by the profile's content, so a known profile
        # costs neither the pyseccomp import nor a compilation.
        sec = None
        if linux.get("seccomp"):
            from ociruntime import seccomp

            sec = seccomp.compile_filter(linux["seccomp"],
                                         cache_dir=os.path.join(root, ".seccomp-cache"))

        last_cap = capnames.last_cap()
        caps, unknown = capabilities.parse(proc.get("capabilities"), last_cap)
        if unknown:
            log.warning(f"ignoring unknown or unavailable capabilities: {unknown}")
        plan = init_mod.InitPlan(
            config=config,
            container_id=opts.container_id,
            rootfs=b.rootfs,
            ns=ns,
            fifo_fd=fifo_fd,
            console_fd=console_fd,
            no_pivot=opts.no_pivot,
            no_new_keyring=opts.no_new_keyring,
            preserve_fds=listen + opts.preserve_fds,
            caps=caps,
            last_cap=last_cap,
            seccomp=sec,
            extra_env=extra_env,
            hook_state={"ociVersion": SPEC_VERSION, "id": opts.container_id, "status": "",
                        "pid": 0, "bundle": b.path,
                        **({"annotations": config["annotations"]}
                           if config.get("annotations") else {})},
        )
        saved: dict[str, Any] = {
            "ociVersion": SPEC_VERSION,
            "id": opts.container_id,
            "bundle": b.path,
            "rootfs": b.rootfs,
            "annotations": config.get("annotations") or {},
            "config": config,
        }

        # Fork the intermediate and the init (process.py has the protocol diagram). The
        # intermediate joins the cgroups before it may go on, so the init is born inside
        # them and containerd, reading /proc/<pid>/cgroup after create, finds it there.
        def place(pid: int) -> None:
            try:
                mgr.apply(pid)
            except CgroupError as exc:
                raise CgroupError(f"unable to apply cgroup configuration: {exc}") from None

        # Cheaper when the driver allows it: the runtime makes the directories, and the new
        # process (the intermediate, or the init born in its namespaces) moves itself in
        # and is born in the cgroup2 one: no RCU grace period (see join_cgroups_self).
        self_join = mgr.self_join_dirs()
        if self_join is not None:
            place(-1)
        init_pid, chan = process_mod.spawn(
            plan, on_intermediate=place if self_join is None else None, self_join=self_join,
            born_in=mgr.birth_dir() if self_join is not None else None)
        saved["pid"] = init_pid
        saved["cgroup_paths"] = mgr.paths()
        saved["cgroup"] = {"systemd": opts.systemd_cgroup, "rootless": opts.rootless}
        # Until state.json exists, this is what `delete --force` finds if we are killed
        # half-way: enough to kill what we started and remove the cgroups.
        state.write_atomic(os.path.join(state_dir, state.PARTIAL_FILE),
                           json.dumps(saved).encode())
        for w in mgr.warnings:
            log.warning(w)
        if linux.get("netDevices"):
            # Host devices move into the new network namespace before any hook runs.
            from ociruntime import network

            network.move_devices(linux["netDevices"], init_pid)

        # A config checked for the first time is remembered while the init sets up: the next
        # create of the same bytes skips both checks (bundle.py).
        bundle_mod.remember(b)

        phase_run = False
        while True:
            frame = chan.recv()
            if frame is None:
                break
            kind = frame["type"]
            if kind == "error":
                msg = str(frame.get("message", "unknown error"))
                hook_failed = msg.startswith("error running hook")
                if not phase_run and not msg.startswith("exec: "):
                    msg = f"error during container init: {msg}"
                raise InitError(f"unable to start container process: {msg}")
            if kind == "hooks":
                # Limits are written after the mounts, as runc does (procHooks).
                _set_limits(mgr, linux)
                # prestart (deprecated) and createRuntime run in the runtime namespace, after
                # the container's mounts, before pivot_root (config.md#posix-platform-hooks).
                all_hooks = config.get("hooks") or {}
                if all_hooks.get("prestart") or all_hooks.get("createRuntime"):
                    hs = state.hook_state(saved, "creating", init_pid)
                    try:
                        hooks.run_hooks(all_hooks.get("prestart"), hs)
                        hooks.run_hooks(all_hooks.get("createRuntime"), hs)
                    except HookError as exc:
                        hook_failed = True
                        raise InitError("unable to start container process: error during "
                                        f"container init: {exc}") from None
                chan.send("hooks-done")
            elif kind == "ready":
                if not ns.has("mount"):
                    # Without a mount namespace runc sets the limits here (procReady).
                    _set_limits(mgr, linux)
                # rlimits from outside: the runtime can raise hard limits the init could not.
                set_rlimits(init_pid, proc.get("rlimits") or [])
                chan.send("run")
                phase_run = True
                # state.json is written while the init finishes its last steps (runc saves
                # it once the init is done too); create returns only after both.
                info = state.proc_start_time(init_pid)
                saved["init_process_start"] = info[0] if info else 0
                saved["created"] = _now_rfc3339nano()
                state.save(state_dir, saved)
            elif kind == SECCOMP_LISTENER:
                # SCMP_ACT_NOTIFY: the listener goes to the agent at listenerPath with the
                # container process state (config-linux.md#seccomp), as runc does.
                seccomp.serve_listener(frame, init_pid, linux["seccomp"], {
                    "ociVersion": SPEC_VERSION, "id": opts.container_id, "status": "creating",
                    "pid": init_pid, "bundle": b.path,
                    **({"annotations": config["annotations"]}
                       if config.get("annotations") else {})})
                chan.send(SECCOMP_LISTENER_DONE)
            else:
                raise InitError(f"unexpected frame {kind!r} from the container init")
        if not phase_run:
            raise InitError("unable to start container process: container init exited early")
        if not state.init_alive(saved):
            raise InitError("unable to start container process: container init exited early")

        if pid_file:
            state.write_pid_file(pid_file, init_pid)
        return init_pid
    except BaseException as exc:
        oom = False
        try:
            oom = bool(mgr.oom_kill_count())
        except Exception:  # noqa: BLE001 - the original error matters more
            pass
        if init_pid:
            from ociruntime.process import kill_and_reap

            kill_and_reap(init_pid)
        try:
            mgr.destroy()
        except Exception as cg_exc:  # noqa: BLE001
            log.warning(f"remove cgroups after a failed create: {cg_exc}")
        state.remove_dir(state_dir)
        if hook_failed:
            # A failing prestart/createRuntime/createContainer hook stops and destroys the
            # container, and the lifecycle goes on with the poststop hooks (runtime.md 12-13).
            hooks.run_hooks_warn((config.get("hooks") or {}).get("poststop"),
                                 state.hook_state(saved, "stopped", None),
                                 lambda m: log.warning(f"poststop hook: {m}"), b.path)
        if oom and isinstance(exc, OCIRuntimeError):
            raise InitError("container init was OOM-killed (memory limit too low?)") from exc
        raise
    finally:
        if chan is not None:
            chan.close()
        if console_sock is not None:
            console_sock.close()
        if fifo_fd >= 0:
            os.close(fifo_fd)


def check_terminal(terminal: bool, detach: bool, console_socket: str | None) -> None:
    """runc's ``checkTerminal``: a detached tty needs a console socket, and a socket a tty."""
    if terminal and detach and not console_socket:
        raise OCIRuntimeError(
            "cannot allocate tty if runc will detach without setting console socket")
    if not terminal and console_socket:
        raise OCIRuntimeError("cannot use console socket if runc will not detach or allocate tty")


def _set_limits(mgr: Any, linux: dict[str, Any]) -> None:
    try:
        mgr.set()
    except CgroupError as exc:
        raise InitError(
            f"unable to start container process: error during container init: "
            f"error setting cgroup config for procHooks process: {exc}") from None


def set_rlimits(pid: int, rlimits: list[dict[str, Any]]) -> None:
    """Set ``process.rlimits`` on ``pid`` from outside (the runtime may raise hard limits
    that the process itself could not)."""
    from ociruntime import linux as L

    for rl in rlimits:
        name = rl["type"]
        res = L.RLIMITS.get(name)
        if res is None:
            raise InitError(f"unable to start container process: unknown rlimit {name}")
        try:
            L.prlimit(pid, res, int(rl["soft"]), int(rl["hard"]))
        except (OSError, ValueError) as exc:
            why = exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InitError(
                "unable to start container process: error during container init: "
                f"error setting rlimit type {res}: {why}"
            ) from None
