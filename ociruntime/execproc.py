"""``exec``: start another process inside a live container (runc-behavior.md 2.8).

The process joins the namespaces of the container's init (only the types the config
lists, in runc's order: user, ipc, uts, net, pid, mnt, cgroup), then takes its user,
capabilities, noNewPrivileges, cwd and environment, finds ``args[0]`` with the container's
PATH and execs it. No hooks run and there is no exec fifo.

The joining process is a fork of the runtime, so it follows the same safety rules as the
init (seal.py): non-dumpable before the first setns, no host fd left open past exec (the
channel and everything else are close-on-exec), and nothing but raw ``os`` calls once it is
inside the container's mount namespace.
"""

from __future__ import annotations

import gc
import os

from ociruntime import capabilities, capnames, namespaces, sched, seccomp, state, user
from ociruntime import fastjson as json
from ociruntime import init as init_mod
from ociruntime import linux as L
from ociruntime.channel import (
    GO,
    READY,
    RUN,
    SECCOMP_LISTENER,
    SECCOMP_LISTENER_DONE,
    Channel,
)
from ociruntime.errors import ExecError, InitError
from ociruntime.log import Logger
from ociruntime.record import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


@dataclass
class ExecOptions:
    """The flags of ``exec``, after the process has been built."""

    root: str
    container_id: str
    process: dict[str, Any]
    console_socket: str | None = None
    pid_file: str | None = None
    detach: bool = False
    preserve_fds: int = 0
    ignore_paused: bool = False
    cgroups: list[str] = field(default_factory=list)


@dataclass
class ExecPlan:
    """What the joining process needs; shaped like InitPlan where process.py reads it."""

    config: dict[str, Any]
    ns: namespaces.NamespacePlan
    caps: capabilities.CapSets
    last_cap: int
    console_fd: int | None
    preserve_fds: int
    no_new_privileges: bool
    seccomp: seccomp.CompiledFilter | None = None

    @property
    def process(self) -> dict[str, Any]:
        """The process to run."""
        return self.config["process"]

    @property
    def linux(self) -> dict[str, Any]:
        """No id maps are written for exec (the user namespace exists already)."""
        return {}


def parse_user(text: str) -> tuple[int, int | None]:
    """``--user UID[:GID]``: numeric only, as runc."""
    uid_s, _, gid_s = text.partition(":")
    try:
        return int(uid_s), (int(gid_s) if gid_s else None)
    except ValueError:
        raise ExecError(f"invalid --user {text!r}: must be UID[:GID] (numeric)") from None


def build_process(
    base: dict[str, Any],
    args: list[str],
    *,
    cwd: str | None = None,
    env: list[str] | None = None,
    tty: bool = False,
    user_spec: str | None = None,
    additional_gids: list[int] | None = None,
    no_new_privs: bool = False,
    caps: list[str] | None = None,
    apparmor: str | None = None,
    process_label: str | None = None,
) -> dict[str, Any]:
    """The process of ``exec ID CMD...``: the config's process with the CLI's overrides."""
    p = json.loads(json.dumps(base))  # a deep copy of plain JSON data
    p["args"] = list(args)
    p["terminal"] = bool(tty)
    if cwd:
        p["cwd"] = cwd
    if env:
        merged: dict[str, str] = {}
        for item in [*(p.get("env") or []), *env]:
            k, _, _ = item.partition("=")
            merged[k] = item
        p["env"] = list(merged.values())
    u = dict(p.get("user") or {})
    if user_spec:
        uid, gid = parse_user(user_spec)
        u["uid"] = uid
        if gid is not None:
            u["gid"] = gid
    if additional_gids:
        u["additionalGids"] = list(additional_gids)
    p["user"] = u
    if no_new_privs:
        p["noNewPrivileges"] = True
    if caps:
        c = dict(p.get("capabilities") or {})
        # CVE-2022-29162: added capabilities never go to the inheritable set.
        for kind in ("bounding", "effective", "permitted", "ambient"):
            have = list(c.get(kind) or [])
            c[kind] = have + [x for x in caps if x not in have]
        p["capabilities"] = c
    if apparmor:
        p["apparmorProfile"] = apparmor
    if process_label:
        p["selinuxLabel"] = process_label
    return p


def _child(plan: ExecPlan, chan: Channel) -> NoReturn:
    gc.disable()
    try:
        _exec_sequence(plan, chan)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the runtime
        chan.send_error(init_mod.error_message(exc))
    os._exit(1)


def _exec_sequence(plan: ExecPlan, chan: Channel) -> None:
    """In the container's namespaces: console, NNP, user, caps, cwd, PATH lookup, exec."""
    proc = plan.process
    chan.expect(GO)
    os.setsid()
    if proc.get("terminal") and plan.console_fd is not None:
        # No /dev/console bind for exec (runc): that belongs to the init.
        init_mod.setup_console(plan.console_fd, proc.get("consoleSize"), False)
    # The runtime sets the rlimits from outside, then lets us go on.
    chan.send(READY)
    chan.expect(RUN)
    sched.apply(proc, None)
    init_mod.mark_fds_cloexec(3 + plan.preserve_fds)
    if plan.no_new_privileges:
        L.prctl(L.PR_SET_NO_NEW_PRIVS, 1)
    # The container's filter applies to exec'd processes too; without NNP it must be
    # loaded while we still have CAP_SYS_ADMIN.
    if plan.seccomp is not None and not plan.no_new_privileges:
        seccomp.load_and_report(plan.seccomp, chan.fileno())
    # The container's own /etc/passwd, read as bytes: no NSS, no imports.
    u = proc.get("user") or {}
    uid, gid = int(u.get("uid", 0)), int(u.get("gid", 0))
    home = None
    try:
        fd = os.open("/etc/passwd", os.O_RDONLY | os.O_CLOEXEC)
        try:
            home = user.home_for_uid(os.read(fd, 1 << 22), uid)
        finally:
            os.close(fd)
    except OSError:
        pass
    cwd = proc.get("cwd") or "/"
    try:
        os.chdir(cwd)
        cwd_done = True
    except PermissionError:
        cwd_done = False
    capabilities.drop_bounding(plan.caps, plan.last_cap)
    L.prctl(L.PR_SET_KEEPCAPS, 1)
    init_mod.set_user(proc, uid, gid)
    if not cwd_done:
        os.chdir(cwd)
    L.prctl(L.PR_SET_KEEPCAPS, 0)
    capabilities.apply(plan.caps, plan.last_cap)
    env = init_mod.environment(proc, home)
    path = init_mod.look_path(proc["args"][0], env)
    init_mod.guard_exe(path, proc["args"][0])
    final = (proc.get("execCPUAffinity") or {}).get("final")
    if final:
        # After the cgroup join (runtime-spec config.md#execcpuaffinity).
        sched.set_affinity(final, "process.execCPUAffinity.final")
    if plan.seccomp is not None and plan.no_new_privileges:
        seccomp.load_and_report(plan.seccomp, chan.fileno())
    # The channel is close-on-exec: a successful execve is the EOF the runtime waits for.
    init_mod.exec_user_process(path, proc["args"], env, 3 + plan.preserve_fds,
                               on_error=chan.send_error)


def cgroup_target_map(saved_paths: dict[str, str], specs: list[str]) -> dict[str, str]:
    """The cgroup directory an exec'd process joins per controller (``""``: the cgroup2
    hierarchy, hybrid or unified): the container's, or with ``--cgroup [ctrl[,ctrl]:]path``
    a sub-cgroup of it (which must exist, as in runc)."""
    paths = dict(saved_paths)
    for spec in specs:
        ctrls, _, sub = spec.rpartition(":")
        if not sub:
            raise ExecError(f"invalid --cgroup argument: {spec}")
        keys = [c.strip() for c in ctrls.split(",")] if ctrls else list(paths)
        for key in keys:
            if key not in paths:
                raise ExecError(f"invalid --cgroup argument: {spec}: no controller {key!r} "
                                "in the container's cgroups")
            base = saved_paths[key]
            new = os.path.normpath(os.path.join(base, sub.lstrip("/")))
            if new != base and not new.startswith(base.rstrip("/") + "/"):
                raise ExecError(f"invalid --cgroup argument: {spec}: leaves the container's "
                                "cgroup")
            if not os.path.isdir(new):
                raise ExecError(f"invalid --cgroup argument: {spec}: {new} does not exist")
            paths[key] = new
    return paths


def _join_cgroups(targets: list[str], pid: int) -> None:
    for path in targets:
        try:
            fd = os.open(os.path.join(path, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, str(pid).encode())
            finally:
                os.close(fd)
        except FileNotFoundError:
            continue  # a hierarchy removed under us (e.g. an empty name=systemd one)
        except OSError as exc:
            raise ExecError(f"join cgroup {path}: {(exc.strerror or '').lower()}") from None


def _sealed(pid: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/exe").startswith("/memfd:ociruntime-sealed")
    except OSError:
        return False


def exec_process(opts: ExecOptions, log: Logger) -> int:
    """Run ``opts.process`` in the container; the exit code for the CLI."""
    from ociruntime import container

    saved, _, st = container.load(opts.root, opts.container_id)
    if st == state.STOPPED:
        raise ExecError("cannot exec in a stopped container")
    if st == state.PAUSED and not opts.ignore_paused:
        raise ExecError("cannot exec in a paused container (use --ignore-paused to override)")
    proc = opts.process
    if not proc.get("args"):
        raise ExecError("args must not be empty")
    if not str(proc.get("cwd") or "/").startswith("/"):
        raise ExecError("cwd must be an absolute path")
    sched.check(proc, None)
    if proc.get("apparmorProfile") or proc.get("selinuxLabel"):
        # No LSM label is applied by this runtime: refuse rather than run unconfined.
        raise ExecError("process labels (--apparmor, --process-label) are not supported")
    from ociruntime.create import check_terminal

    check_terminal(bool(proc.get("terminal")), opts.detach, opts.console_socket)
    config = saved.get("config") or {}
    cproc = config.get("process") or {}
    if not proc.get("capabilities"):
        # A process without capabilities gets the container's (runc).
        proc["capabilities"] = cproc.get("capabilities")
    nnp = bool(proc.get("noNewPrivileges") or cproc.get("noNewPrivileges"))
    init_pid = int(saved["pid"])
    try:
        os.readlink(f"/proc/{init_pid}/ns/mnt")
    except OSError:
        # An exiting init leaves its namespaces before it becomes a zombie, and can stay
        # in between while its pid namespace empties: nothing is left to join.
        raise ExecError("cannot exec in a stopped container") from None
    types = [n["type"] for n in (config.get("linux") or {}).get("namespaces") or []]
    join = [(t, f"/proc/{init_pid}/ns/{namespaces.PROC_NAMES[t]}")
            for t in namespaces.JOIN_ORDER if t in types]

    from ociruntime import seal

    userns = "user" in types
    if st == state.CREATED and seal.needs_seal(proc, userns) and not _sealed(init_pid):
        # The init still waiting on the exec fifo is the host's interpreter (unsealed, since
        # the container itself can not ptrace): a ptrace-capable process must not join it.
        raise ExecError("refusing to exec a CAP_SYS_PTRACE process into a created container "
                        "whose init has not started (CVE-2019-5736); start it first")
    if (seal.needs_seal(proc, userns) or seal.needs_seal(cproc, userns)) \
            and not seal.exe_is_sealed():
        seal.reexec_sealed()

    sec_cfg = (config.get("linux") or {}).get("seccomp")
    sec = seccomp.compile_filter(sec_cfg, cache_dir=os.path.join(opts.root, ".seccomp-cache"))
    last_cap = capnames.last_cap()
    caps, unknown = capabilities.parse(proc.get("capabilities"), last_cap)
    if unknown:
        log.warning(f"ignoring unknown or unavailable capabilities: {unknown}")
    console_sock = None
    console_fd = None
    ours = None
    if proc.get("terminal"):
        import socket

        if opts.console_socket:
            from ociruntime import console

            console_sock = console.connect_socket(opts.console_socket)
            console_fd = console_sock.fileno()
        else:
            ours, theirs = socket.socketpair(socket.AF_UNIX,
                                             socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            console_sock = theirs
            console_fd = theirs.fileno()
    plan = ExecPlan(
        config={"process": {**proc, "oomScoreAdj": cproc.get("oomScoreAdj")}},
        ns=namespaces.NamespacePlan(join=join),
        caps=caps,
        last_cap=last_cap,
        console_fd=console_fd,
        preserve_fds=opts.preserve_fds,
        no_new_privileges=nnp,
        seccomp=sec,
    )
    from ociruntime import create as create_mod
    from ociruntime import process as process_mod
    from ociruntime import runner

    target_map = cgroup_target_map(saved.get("cgroup_paths") or {}, opts.cgroups)
    targets = sorted({p for p in target_map.values() if p})
    pid = 0
    chan = None
    try:
        # The intermediate joins the container's cgroups before it forks, so the exec'd
        # process is under the container's limits from its first instruction. In a paused
        # container a process that joins the frozen cgroups stops at once: with
        # --ignore-paused it joins only after the handshake, and `-d` does not wait for an
        # exec that can only happen after `resume`.
        paused = st == state.PAUSED
        initial = (proc.get("execCPUAffinity") or {}).get("initial")

        def place(p: int) -> None:
            if initial:
                # Before the process joins the container's cgroups (config.md).
                sched.set_affinity(initial, "process.execCPUAffinity.initial", p)
            if not paused:
                _join_cgroups(targets, p)

        if paused or initial:
            pid, chan = process_mod.spawn(plan, on_intermediate=place, child_main=_child)
        else:
            # The cheap placement, as in create: the intermediate moves itself in (v1
            # tasks files) and is born in the cgroup2 one. A hierarchy removed under us
            # (an empty name=systemd one) is skipped, as the runtime's join does.
            pid, chan = process_mod.spawn(
                plan, child_main=_child, self_join=[(t, False) for t in targets
                                                    if os.path.isdir(t)],
                born_in=target_map.get("") or None)
        chan.expect(READY)
        create_mod.set_rlimits(pid, proc.get("rlimits") or [])
        if paused:
            _join_cgroups(targets, pid)
        chan.send(RUN)
        frame = None if (paused and opts.detach) else chan.recv()
        if frame is not None and frame["type"] == SECCOMP_LISTENER and sec_cfg:
            seccomp.serve_listener(frame, pid, sec_cfg, {
                "ociVersion": saved.get("ociVersion"), "id": opts.container_id,
                "status": "running", "pid": pid, "bundle": saved.get("bundle")})
            chan.send(SECCOMP_LISTENER_DONE)
            frame = chan.recv()
        if frame is not None:
            raise InitError(str(frame.get("message") or "exec failed"))
    except BaseException:
        if pid:
            process_mod.kill_and_reap(pid)
        raise
    finally:
        if chan is not None:
            chan.close()
        if console_sock is not None:
            console_sock.close()
    master = -1
    if ours is not None:
        import socket

        _, fds, _, _ = socket.recv_fds(ours, 4096, 1)
        ours.close()
        master = fds[0] if fds else -1
    if opts.pid_file:
        state.write_pid_file(os.path.abspath(opts.pid_file), pid)
    if opts.detach:
        return 0
    return runner.wait_foreground(pid, master)
