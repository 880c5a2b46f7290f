"""The rest of the command line: argparse, and the commands engines call rarely.

``cli`` parses the hot commands (and exec, pause and resume) itself; whatever it declines
(``--help``, a flag it does not know, a wrong argument count, list, update, events, ps,
spec, features) is parsed here by argparse, which gives runc's usage errors, and run from
here.
"""

from __future__ import annotations

import sys

from ociruntime import SPEC_VERSION, __version__
from ociruntime import fastjson as json
from ociruntime.cli import one_id, root_dir
from ociruntime.errors import OCIRuntimeError, UsageError

TYPE_CHECKING = False  # typing is loaded only by type checkers
if TYPE_CHECKING:
    import argparse
    from typing import Any, NoReturn

    from ociruntime.log import Logger

#: runc update's flags (``--resources`` wins over all of them)
_UPDATE_FLAGS = ("blkio-weight", "cpu-period", "cpu-quota", "cpu-share", "cpu-rt-period",
                 "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "memory",
                 "memory-reservation", "memory-swap", "pids-limit", "l3-cache-schema",
                 "mem-bw-schema", "kernel-memory", "kernel-memory-tcp")


def _parser_class() -> type[argparse.ArgumentParser]:
    import argparse

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            raise UsageError(message)

    return _Parser


def _version_text() -> str:
    import platform

    commit = "unknown"
    try:
        from ociruntime.features import _git_commit

        commit = _git_commit()
    except Exception:  # noqa: BLE001 - the version must print whatever happens
        pass
    return (
        f"ociruntime version {__version__}\n"
        f"commit: {commit}\n"
        f"spec: {SPEC_VERSION}\n"
        f"python: {platform.python_version()}\n"
    )


def build_parser() -> argparse.ArgumentParser:
    """runc's whole command line, as argparse sees it (errors raise UsageError)."""
    import argparse

    _Parser = _parser_class()
    p = _Parser(prog="ociruntime", add_help=True,
                description="ociruntime: a runc-compatible OCI runtime written in Python")
    p.add_argument("--root", default=None, help="state directory (default /run/ociruntime)")
    p.add_argument("--log", default="", help="log file (default: stderr)")
    p.add_argument("--log-format", default="text", help="text or json")
    p.add_argument("--debug", action="store_true", help="debug logging")
    p.add_argument("--systemd-cgroup", action="store_true",
                   help="use the systemd cgroup driver (linux.cgroupsPath is slice:prefix:name)")
    p.add_argument("--rootless", default="auto", help="true, false or auto")
    p.add_argument("--criu", default="criu", help=argparse.SUPPRESS)
    p.add_argument("-v", "--version", action="store_true", help="print the version")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def create_flags(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("-b", "--bundle", default="", help="path to the bundle (default: cwd)")
        sp.add_argument("--console-socket", default="",
                        help="AF_UNIX socket that receives the pty master")
        sp.add_argument("--pid-file", default="", help="file to write the init's pid to")
        sp.add_argument("--no-pivot", action="store_true", help="use MS_MOVE + chroot")
        sp.add_argument("--no-new-keyring", action="store_true",
                        help="do not create a new session keyring")
        sp.add_argument("--preserve-fds", type=int, default=0,
                        help="pass N extra fds (from 3) to the container")
        sp.add_argument("id", nargs="*")

    create_flags(sub.add_parser("create", help="create a container"))
    r = sub.add_parser("run", help="create and start a container")
    create_flags(r)
    r.add_argument("-d", "--detach", action="store_true", help="detach from the container")
    r.add_argument("--keep", action="store_true", help="do not delete it after it exits")
    r.add_argument("--no-subreaper", "-no-subreaper", action="store_true",
                   help="do not become a subreaper")
    for name, helptext in (("start", "start a created container"),
                           ("state", "print the state of a container")):
        sub.add_parser(name, help=helptext).add_argument("id", nargs="*")
    k = sub.add_parser("kill", help="send a signal to the container's init")
    k.add_argument("-a", "--all", action="store_true", help="signal every process")
    k.add_argument("args", nargs="*", metavar="ID [SIGNAL]")
    d = sub.add_parser("delete", help="delete a container")
    d.add_argument("-f", "--force", action="store_true", help="kill it first if running")
    d.add_argument("id", nargs="*")
    ls = sub.add_parser("list", help="list containers")
    ls.add_argument("-f", "--format", default="table", help="table or json")
    ls.add_argument("-q", "--quiet", action="store_true", help="ids only")
    s = sub.add_parser("spec", help="write a default config.json")
    s.add_argument("-b", "--bundle", default="", help="bundle directory")
    s.add_argument("--rootless", action="store_true", help="a config for rootless use")
    sub.add_parser("features", help="print the features this runtime supports")
    for name, helptext in (("pause", "freeze every process of a container"),
                           ("resume", "thaw a paused container")):
        sub.add_parser(name, help=helptext).add_argument("id", nargs="*")
    u = sub.add_parser("update", help="update a container's resource limits")
    u.add_argument("-r", "--resources", default="",
                   help="file with OCI LinuxResources JSON ('-' for stdin); other flags ignored")
    for flag in _UPDATE_FLAGS:
        u.add_argument(f"--{flag}", default=None,
                       help=argparse.SUPPRESS if flag.startswith("kernel-") else None)
    u.add_argument("id", nargs="*")
    ev = sub.add_parser("events", help="print stats and OOM events of a container")
    ev.add_argument("--interval", default="5s", help="stats interval (Go duration, 5s)")
    ev.add_argument("--stats", action="store_true", help="print one stats record and exit")
    ev.add_argument("id", nargs="*")
    ps_p = sub.add_parser("ps", help="list the processes of a container")
    ps_p.add_argument("-f", "--format", default="table", help="table or json")
    ps_p.add_argument("id", nargs="?")
    ps_p.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="PS_ARGS")
    e = sub.add_parser("exec", help="run a process in a running container")
    e.add_argument("--console-socket", default="", help="socket that receives the pty master")
    e.add_argument("--cwd", default="", help="working directory in the container")
    e.add_argument("-e", "--env", action="append", default=[], help="KEY=VALUE (repeatable)")
    e.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    e.add_argument("-u", "--user", default="", help="UID[:GID]")
    e.add_argument("-g", "--additional-gids", action="append", type=int, default=[],
                   help="additional gid (repeatable)")
    e.add_argument("-p", "--process", default="", help="process.json (taken as it is)")
    e.add_argument("-d", "--detach", action="store_true", help="detach from the process")
    e.add_argument("--pid-file", default="", help="file to write the process pid to")
    e.add_argument("--process-label", default="", help="SELinux label")
    e.add_argument("--apparmor", default="", help="AppArmor profile")
    e.add_argument("--no-new-privs", action="store_true", help="set no_new_privs")
    e.add_argument("-c", "--cap", action="append", default=[], help="add a capability")
    e.add_argument("--preserve-fds", type=int, default=0, help="pass N extra fds (from 3)")
    e.add_argument("--cgroup", action="append", default=[], help="[ctrl[,ctrl]:]path")
    e.add_argument("--ignore-paused", action="store_true", help="exec even if paused")
    e.add_argument("id", nargs="?")
    e.add_argument("exec_args", nargs=argparse.REMAINDER, metavar="COMMAND")
    return p


def _update_flags(ns: Any) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    if ns.resources:
        try:
            if ns.resources == "-":
                raw = sys.stdin.buffer.read()
            else:
                with open(ns.resources, "rb") as f:
                    raw = f.read()
            flags["resources"] = json.loads(raw)
        except (OSError, ValueError) as exc:
            raise OCIRuntimeError(f"unable to read resources: {exc}") from None
        return flags
    for flag in _UPDATE_FLAGS:
        value = getattr(ns, flag.replace("-", "_"))
        if value is not None:
            if flag in ("blkio-weight", "pids-limit"):
                try:
                    value = int(value)
                except ValueError:
                    raise OCIRuntimeError(f"invalid value {value!r} for --{flag}") from None
            flags[flag] = value
    return flags


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                   "h": 3600.0}


def _go_duration(text: str) -> float:
    """A Go duration (``5s``, ``1m30s``, ``250ms``) in seconds."""
    total, num, i = 0.0, "", 0
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    while i < len(body):
        c = body[i]
        if c.isdigit() or c == ".":
            num += c
            i += 1
            continue
        unit = next((u for u in ("ns", "us", "µs", "ms", "s", "m", "h") if body.startswith(u, i)),
                    None)
        if unit is None or not num:
            raise OCIRuntimeError(f'time: invalid duration "{text}"')
        total += float(num) * _DURATION_UNITS[unit]
        num = ""
        i += len(unit)
    if num:
        raise OCIRuntimeError(f'time: missing unit in duration "{text}"')
    return sign * total


def _exec(ns: Any, log: Logger) -> int:
    from ociruntime import container, execproc
    from ociruntime.errors import ExecError

    # argparse gives the optional id as a string, cli's own parser as a one-item list
    cid = ns.id[0] if isinstance(ns.id, list) and ns.id else ns.id
    if not cid:
        raise UsageError('"exec" requires a minimum of 1 argument(s)')
    try:
        if ns.process:
            try:
                with open(ns.process, "rb") as f:
                    process = json.loads(f.read())
            except (OSError, ValueError) as exc:
                raise ExecError(f"process.json {ns.process}: {exc}") from None
        else:
            if not ns.exec_args:
                raise UsageError('"exec" requires a minimum of 2 argument(s)')
            saved = container.get_saved(root_dir(ns), cid)
            process = execproc.build_process(
                (saved.get("config") or {}).get("process") or {},
                ns.exec_args,
                cwd=ns.cwd or None,
                env=ns.env,
                tty=ns.tty,
                user_spec=ns.user or None,
                additional_gids=ns.additional_gids,
                no_new_privs=ns.no_new_privs,
                caps=ns.cap,
                apparmor=ns.apparmor or None,
                process_label=ns.process_label or None,
            )
        opts = execproc.ExecOptions(
            root=root_dir(ns),
            container_id=cid,
            process=process,
            console_socket=ns.console_socket or None,
            pid_file=ns.pid_file or None,
            detach=ns.detach,
            preserve_fds=ns.preserve_fds,
            ignore_paused=ns.ignore_paused,
            cgroups=ns.cgroup,
        )
        return execproc.exec_process(opts, log)
    except UsageError:
        raise
    except OCIRuntimeError as exc:
        # runc: "exec failed: ..." and exit 255 for failures inside the runtime.
        err = ExecError(f"exec failed: {exc}")
        raise err from None


def _list(ns: Any) -> int:
    from ociruntime import container

    items = container.list_containers(root_dir(ns))
    if ns.quiet:
        for it in items:
            sys.stdout.write(it["id"] + "\n")
        return 0
    if ns.format == "json":
        if not items:
            sys.stdout.write("null\n")
        else:
            sys.stdout.write(json.dumps(items, compact=True) + "\n")
        return 0
    if ns.format != "table":
        raise OCIRuntimeError(f"invalid format option {ns.format!r}")
    header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    rows: list[list[str]] = [header] + [
        [it["id"], str(it["pid"]), it["status"], it["bundle"], it["created"], it["owner"]]
        for it in items
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        cells = [c.ljust(max(widths[i], 9) + 3) for i, c in enumerate(r[:-1])]
        sys.stdout.write("".join(cells) + r[-1] + "\n")
    return 0


def version_or_help(ns: Any) -> int:
    """``--version`` prints runc's version block; no command prints the help."""
    if ns.version:
        sys.stdout.write(_version_text())
    else:
        build_parser().print_help()
    return 0


def dispatch(ns: Any, log: Logger) -> int:
    """Run a command ``cli`` does not handle itself; returns the exit status."""
    cmd = ns.command
    if cmd == "spec":
        from ociruntime import specgen

        specgen.write_spec(ns.bundle, ns.rootless)
        return 0
    if cmd == "features":
        from ociruntime import features

        sys.stdout.write(features.features_json())
        return 0
    if cmd == "exec":
        return _exec(ns, log)
    if cmd == "list":
        return _list(ns)

    from ociruntime import container

    if cmd == "pause":
        container.pause(root_dir(ns), one_id(ns, cmd))
        return 0
    if cmd == "resume":
        container.resume(root_dir(ns), one_id(ns, cmd))
        return 0
    if cmd == "update":
        container.update(root_dir(ns), one_id(ns, cmd), _update_flags(ns))
        return 0
    if cmd == "events":
        interval = _go_duration(ns.interval)

        def emit(line: str) -> None:
            sys.stdout.write(line)
            sys.stdout.flush()

        container.events(root_dir(ns), one_id(ns, cmd), interval, ns.stats, emit, log)
        return 0
    if cmd == "ps":
        if not ns.id:
            raise UsageError('"ps" requires a minimum of 1 argument(s)')
        sys.stdout.write(container.ps(root_dir(ns), ns.id, ns.format, ns.ps_args))
        return 0
    raise UsageError(f"No help topic for '{cmd}'")
