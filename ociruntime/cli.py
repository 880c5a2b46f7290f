"""The command line, with runc's flags, defaults, outputs and exit codes.

Thin by design: parse arguments, call one library function, print its result. This is the
only place where library errors become stderr text, ``--log`` records and exit codes.
"""

from __future__ import annotations

import os
import sys

from ociruntime import SPEC_VERSION, __version__
from ociruntime import fastjson as json
from ociruntime.errors import OCIRuntimeError, UsageError
from ociruntime.log import Logger

TYPE_CHECKING = False  # argparse and typing are loaded only off the fast path
if TYPE_CHECKING:
    import argparse
    from typing import Any, NoReturn

COMMANDS = ("create", "start", "run", "exec", "state", "kill", "delete", "list", "spec",
            "features", "pause", "resume", "update", "events", "ps")

#: runc update's flags (``--resources`` wins over all of them)
_UPDATE_FLAGS = ("blkio-weight", "cpu-period", "cpu-quota", "cpu-share", "cpu-rt-period",
                 "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "memory",
                 "memory-reservation", "memory-swap", "pids-limit", "l3-cache-schema",
                 "mem-bw-schema", "kernel-memory", "kernel-memory-tcp")

#: exact argument counts (runc: ``"state" requires exactly 1 argument(s)``)
_NARGS = {"create": 1, "start": 1, "run": 1, "state": 1, "delete": 1}


class Args:
    """Parsed arguments: what argparse's Namespace holds, without importing argparse."""

    command: str | None = None
    root: str | None = None
    log: str = ""
    log_format: str = "text"
    debug: bool = False
    systemd_cgroup: bool = False
    rootless: str = "auto"
    version: bool = False
    id: list[str]
    args: list[str]
    all: bool = False
    force: bool = False
    bundle: str = ""
    console_socket: str = ""
    pid_file: str = ""
    no_pivot: bool = False
    no_new_keyring: bool = False
    preserve_fds: int = 0
    detach: bool = False
    keep: bool = False
    no_subreaper: bool = False

    def __init__(self) -> None:
        self.id = []
        self.args = []


_GLOBAL_VALUE = {"--root": "root", "--log": "log", "--log-format": "log_format",
                 "--rootless": "rootless"}
_GLOBAL_BOOL = {"--debug": "debug", "--systemd-cgroup": "systemd_cgroup"}
_FAST_BOOL = {
    "kill": {"-a": "all", "--all": "all"},
    "delete": {"-f": "force", "--force": "force"},
    "state": {},
    "start": {},
    "create": {"--no-pivot": "no_pivot", "--no-new-keyring": "no_new_keyring"},
    "run": {"--no-pivot": "no_pivot", "--no-new-keyring": "no_new_keyring", "-d": "detach",
            "--detach": "detach", "--keep": "keep", "--no-subreaper": "no_subreaper",
            "-no-subreaper": "no_subreaper"},
}
_CREATE_VALUE = {"-b": "bundle", "--bundle": "bundle", "--console-socket": "console_socket",
                 "--pid-file": "pid_file", "--preserve-fds": "preserve_fds"}
_FAST_VALUE = {"create": _CREATE_VALUE, "run": _CREATE_VALUE}


def _take(argv: list[str], i: int, table: dict[str, str]) -> tuple[str, str, int] | None:
    """Match ``--flag value`` or ``--flag=value`` at ``argv[i]``: (attr, value, next index)."""
    word = argv[i]
    name, eq, value = word.partition("=")
    if name not in table:
        return None
    if eq:
        return table[name], value, i + 1
    if i + 1 >= len(argv):
        return None
    return table[name], argv[i + 1], i + 2


def fast_parse(argv: list[str]) -> Args | None:
    """Parse the hot invocations (state/start/kill/delete/create/run) without argparse.

    Returns None for anything else (help, exec, a flag it does not know, a wrong number of
    arguments): argparse then parses it and produces runc's usage errors.
    """
    a = Args()
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        if argv[i] in _GLOBAL_BOOL:
            setattr(a, _GLOBAL_BOOL[argv[i]], True)
            i += 1
            continue
        got = _take(argv, i, _GLOBAL_VALUE)
        if got is None:
            return None
        setattr(a, got[0], got[1])
        i = got[2]
    if i >= len(argv) or argv[i] not in _FAST_BOOL:
        return None
    a.command = cmd = argv[i]
    i += 1
    bools, values = _FAST_BOOL[cmd], _FAST_VALUE.get(cmd, {})
    positional: list[str] = []
    while i < len(argv):
        word = argv[i]
        if word == "--" or not word.startswith("-") or word == "-":
            positional.extend(argv[i + (word == "--"):] if word == "--" else [word])
            if word == "--":
                break
            i += 1
            continue
        if word in bools:
            setattr(a, bools[word], True)
            i += 1
            continue
        got = _take(argv, i, values)
        if got is None:
            return None
        attr, value, i = got
        if attr == "preserve_fds":
            if not value.isdigit():
                return None
            setattr(a, attr, int(value))
        else:
            setattr(a, attr, value)
    if cmd == "kill":
        if not 1 <= len(positional) <= 2:
            return None
        a.args = positional
    elif len(positional) != 1:
        return None
    a.id = positional
    return a


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


def _build_parser() -> argparse.ArgumentParser:
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


def _one_id(ns: Any, command: str) -> str:
    ids = ns.id
    if len(ids) != 1:
        raise UsageError(f'"{command}" requires exactly 1 argument(s)')
    return str(ids[0])


def _root(ns: Any) -> str:
    from ociruntime import state

    return os.path.abspath(ns.root) if ns.root else state.default_root()


def _create_options(ns: Any, detach: bool) -> Any:
    from ociruntime.create import CreateOptions

    return CreateOptions(
        root=_root(ns),
        container_id=_one_id(ns, ns.command),
        bundle=ns.bundle or os.getcwd(),
        console_socket=ns.console_socket or None,
        pid_file=ns.pid_file or None,
        no_pivot=ns.no_pivot,
        no_new_keyring=ns.no_new_keyring,
        preserve_fds=ns.preserve_fds,
        detach=detach,
        systemd_cgroup=bool(ns.systemd_cgroup),
        rootless=_rootless(ns),
    )


def _rootless(ns: Any) -> bool:
    value = str(getattr(ns, "rootless", "auto")).lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return os.geteuid() != 0


def _dispatch(ns: Any, log: Logger) -> int:
    cmd = ns.command
    if cmd == "spec":
        from ociruntime import specgen

        specgen.write_spec(ns.bundle, ns.rootless)
        return 0
    if cmd == "features":
        from ociruntime import features

        sys.stdout.write(features.features_json())
        return 0

    from ociruntime import container

    if cmd == "create":
        from ociruntime import create

        try:
            create.create(_create_options(ns, detach=True), log)
        except UsageError:
            raise
        except OCIRuntimeError as exc:
            raise OCIRuntimeError(f"ociruntime create failed: {exc}") from None
        return 0
    if cmd == "run":
        from ociruntime import runner

        try:
            return runner.run(_create_options(ns, detach=ns.detach), log, keep=ns.keep)
        except UsageError:
            raise
        except OCIRuntimeError as exc:
            raise OCIRuntimeError(f"ociruntime run failed: {exc}") from None
    if cmd == "exec":
        return _exec(ns, log)
    if cmd == "pause":
        container.pause(_root(ns), _one_id(ns, cmd))
        return 0
    if cmd == "resume":
        container.resume(_root(ns), _one_id(ns, cmd))
        return 0
    if cmd == "update":
        container.update(_root(ns), _one_id(ns, cmd), _update_flags(ns))
        return 0
    if cmd == "events":
        interval = _go_duration(ns.interval)

        def emit(line: str) -> None:
            sys.stdout.write(line)
            sys.stdout.flush()

        container.events(_root(ns), _one_id(ns, cmd), interval, ns.stats, emit, log)
        return 0
    if cmd == "ps":
        if not ns.id:
            raise UsageError('"ps" requires a minimum of 1 argument(s)')
        sys.stdout.write(container.ps(_root(ns), ns.id, ns.format, ns.ps_args))
        return 0
    if cmd == "start":
        container.start(_root(ns), _one_id(ns, cmd), log)
        return 0
    if cmd == "state":
        out = container.get_state(_root(ns), _one_id(ns, cmd))
        sys.stdout.write(json.dumps(out, indent=2))
        return 0
    if cmd == "kill":
        args = ns.args
        if not 1 <= len(args) <= 2:
            raise UsageError('"kill" requires a minimum of 1 and a maximum of 2 argument(s)')
        from ociruntime.signals import SIGTERM, parse_signal

        sig = parse_signal(args[1]) if len(args) == 2 else SIGTERM
        container.kill(_root(ns), args[0], sig, ns.all)
        return 0
    if cmd == "delete":
        container.delete(_root(ns), _one_id(ns, cmd), ns.force, log)
        return 0
    if cmd == "list":
        return _list(ns)
    raise UsageError(f"No help topic for '{cmd}'")


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

    if not ns.id:
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
            saved = container.get_saved(_root(ns), ns.id)
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
            root=_root(ns),
            container_id=ns.id,
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

    items = container.list_containers(_root(ns))
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ociruntime`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # runc: an unknown command exits 3 with "No help topic for 'X'".
    first = _first_word(argv)
    log = Logger(None)
    try:
        ns: Any = fast_parse(argv)
        if ns is None:
            parser = _build_parser()
            if first is not None and first not in COMMANDS:
                sys.stderr.write(f"No help topic for '{first}'\n")
                return 3
            ns = parser.parse_args(argv)
        if ns.log_format not in ("text", "json"):
            sys.stderr.write(f"invalid log-format: {ns.log_format}\n")
            return 1
        log = Logger(ns.log or None, ns.log_format, ns.debug)
        if ns.version:
            sys.stdout.write(_version_text())
            return 0
        if not ns.command:
            _build_parser().print_help()
            return 0
        code = _dispatch(ns, log)
        log.flush()
        return code
    except UsageError as exc:
        sys.stdout.write("Incorrect Usage.\n\n")
        log.error(f"ociruntime: {exc}")
        return 1
    except OCIRuntimeError as exc:
        log.error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        # A syscall the library did not wrap: still one clean error record, never a traceback.
        log.error(str(exc.strerror or exc).lower() if exc.filename is None
                  else f"{exc.filename}: {(exc.strerror or '').lower()}")
        return 1


def run() -> NoReturn:
    """``main()`` without the cyclic garbage collector, then exit without the
    interpreter's teardown.

    A command lives for milliseconds and reference counting frees what it drops, while
    the collector's passes during the imports alone cost ~0.7 ms (the launcher turns it
    off before its first import; the commands that can wait for days, a foreground
    ``run``/``exec`` and ``events``, turn it back on). Finalizing the interpreter
    (clearing every module, a last collection) costs ~3 ms per call, and engines call the
    runtime several times per container. Nothing here needs it: files are written inside
    ``with`` blocks, the log is flushed by ``main``, and no atexit handler is registered;
    only stdout and stderr may still hold buffered text.
    """
    import gc

    gc.disable()
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            code = code or 1
    os._exit(code)


def _first_word(argv: list[str]) -> str | None:
    """The command word: the first argument that is neither a flag nor a flag's value."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if not word.startswith("-"):
            return word
        if word in ("--root", "--log", "--log-format", "--rootless", "--criu"):
            i += 1
        i += 1
    return None
