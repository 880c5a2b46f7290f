"""The command line, with runc's flags, defaults, outputs and exit codes.

Thin by design: parse arguments, call one library function, print its result. This is the
only place where library errors become stderr text, ``--log`` records and exit codes.

Engines call create, start, state, kill and delete several times per container, so this
module holds only those: a small parser of their flags and their dispatch. The small
parser also reads ``exec``'s flags (engines exec health checks and probes) and ``pause``
and ``resume``, which ``cli_full`` runs. Everything else (argparse with help and runc's
usage errors, list, update, events, ps, spec, features) is in ``cli_full``, loaded only
when needed.

What those light commands (state, start, kill, delete) load - this module, errors, log,
fastjson, state, signals, container, cgroups_remove - calls the C module ``posix`` and not
``os``: importing ``os`` costs ~1 ms per call (it builds ``os.environ`` on
``collections.abc``), an eighth of a ``state``. The functions are the same ones (``os``
re-exports them); a path is joined with an f-string, and the few ``os`` helpers they need
rarely (``makedirs``, ``environ``, ``abspath`` of an unusual path) are imported where used.
tests/unit/test_light_path.py keeps it so.
"""

from __future__ import annotations

import posix  # not os: see the module docstring
import sys

from ociruntime import fastjson as json
from ociruntime.errors import OCIRuntimeError, UsageError
from ociruntime.log import Logger

TYPE_CHECKING = False  # typing is loaded only by type checkers
if TYPE_CHECKING:
    from typing import Any, NoReturn

COMMANDS = ("create", "start", "run", "exec", "state", "kill", "delete", "list", "spec",
            "features", "pause", "resume", "update", "events", "ps")

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
    # exec
    cwd: str = ""
    env: list[str]
    tty: bool = False
    user: str = ""
    additional_gids: list[int]
    process: str = ""
    process_label: str = ""
    apparmor: str = ""
    no_new_privs: bool = False
    cap: list[str]
    cgroup: list[str]
    ignore_paused: bool = False
    exec_args: list[str]

    def __init__(self) -> None:
        self.id = []
        self.args = []
        self.env, self.additional_gids, self.cap, self.cgroup = [], [], [], []
        self.exec_args = []


_GLOBAL_VALUE = {"--root": "root", "--log": "log", "--log-format": "log_format",
                 "--rootless": "rootless"}
_GLOBAL_BOOL = {"--debug": "debug", "--systemd-cgroup": "systemd_cgroup"}
_FAST_BOOL = {
    "kill": {"-a": "all", "--all": "all"},
    "delete": {"-f": "force", "--force": "force"},
    "state": {},
    "start": {},
    "pause": {},
    "resume": {},
    "create": {"--no-pivot": "no_pivot", "--no-new-keyring": "no_new_keyring"},
    "run": {"--no-pivot": "no_pivot", "--no-new-keyring": "no_new_keyring", "-d": "detach",
            "--detach": "detach", "--keep": "keep", "--no-subreaper": "no_subreaper",
            "-no-subreaper": "no_subreaper"},
}
_CREATE_VALUE = {"-b": "bundle", "--bundle": "bundle", "--console-socket": "console_socket",
                 "--pid-file": "pid_file", "--preserve-fds": "preserve_fds"}
_EXEC_BOOL = {"-t": "tty", "--tty": "tty", "-d": "detach", "--detach": "detach",
              "--no-new-privs": "no_new_privs", "--ignore-paused": "ignore_paused"}
_EXEC_VALUE = {"--console-socket": "console_socket", "--cwd": "cwd", "-u": "user",
               "--user": "user", "-p": "process", "--process": "process",
               "--pid-file": "pid_file", "--process-label": "process_label",
               "--apparmor": "apparmor", "--preserve-fds": "preserve_fds",
               # repeatable
               "-e": "env", "--env": "env", "-g": "additional_gids",
               "--additional-gids": "additional_gids", "-c": "cap", "--cap": "cap",
               "--cgroup": "cgroup"}
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


_INT_FLAGS = frozenset({"preserve_fds", "additional_gids"})
_LIST_FLAGS = frozenset({"env", "additional_gids", "cap", "cgroup"})  # repeatable


def _flag(a: Args, argv: list[str], i: int, bools: dict[str, str],
          values: dict[str, str]) -> int | None:
    """Apply the flag at ``argv[i]`` to ``a``: the index after it, or None when argparse
    must decide (an unknown flag, a missing or non-numeric value)."""
    word = argv[i]
    if word in bools:
        setattr(a, bools[word], True)
        return i + 1
    got = _take(argv, i, values)
    if got is None:
        return None
    attr, text, nxt = got
    value: str | int = text
    if attr in _INT_FLAGS:
        if not text.isdigit():
            return None
        value = int(text)
    if attr in _LIST_FLAGS:
        getattr(a, attr).append(value)
    else:
        setattr(a, attr, value)
    return nxt


def fast_parse(argv: list[str]) -> Args | None:
    """Parse the hot invocations (create, run, start, state, kill, delete, exec, pause,
    resume) without argparse.

    Returns None for anything else (help, another command, a flag it does not know, a
    wrong number of arguments): argparse then parses it and produces runc's usage errors.
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
    if i < len(argv) and argv[i] == "exec":
        return _fast_exec(a, argv, i + 1)
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
        nxt = _flag(a, argv, i, bools, values)
        if nxt is None:
            return None
        i = nxt
    if cmd == "kill":
        if not 1 <= len(positional) <= 2:
            return None
        a.args = positional
    elif len(positional) != 1:
        return None
    a.id = positional
    return a


def _fast_exec(a: Args, argv: list[str], i: int) -> Args | None:
    """``exec [flags] ID COMMAND...`` as argparse reads it: flags up to the id, and every
    word after the id is the command's. Anything unusual (combined short flags, ``--``, a
    non-numeric gid, no id) is left to argparse."""
    a.command = "exec"
    while i < len(argv):
        word = argv[i]
        if not word.startswith("-") or word == "-":
            rest = argv[i + 1:]
            if rest[:1] == ["--"]:
                return None  # argparse drops it: not worth copying here
            a.id, a.exec_args = [word], rest
            return a
        nxt = _flag(a, argv, i, _EXEC_BOOL, _EXEC_VALUE)
        if nxt is None:
            return None
        i = nxt
    return None


def one_id(ns: Any, command: str) -> str:
    """The one container id ``command`` takes (runc's usage error otherwise)."""
    ids = ns.id
    if len(ids) != 1:
        raise UsageError(f'"{command}" requires exactly 1 argument(s)')
    return str(ids[0])


def root_dir(ns: Any) -> str:
    """The state directory: ``--root`` made absolute, or the default."""
    from ociruntime import state

    return state.absolute(ns.root) if ns.root else state.default_root()


def _create_options(ns: Any, detach: bool) -> Any:
    from ociruntime.create import CreateOptions

    return CreateOptions(
        root=root_dir(ns),
        container_id=one_id(ns, ns.command),
        bundle=ns.bundle or posix.getcwd(),
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
    return posix.geteuid() != 0


def _dispatch(ns: Any, log: Logger) -> int:
    """Run the engines' commands here; the rest live in cli_full, imported only for them."""
    cmd = ns.command
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

    from ociruntime import container

    if cmd == "start":
        container.start(root_dir(ns), one_id(ns, cmd), log)
        return 0
    if cmd == "state":
        out = container.get_state(root_dir(ns), one_id(ns, cmd))
        sys.stdout.write(json.dumps(out, indent=2))
        return 0
    if cmd == "kill":
        args = ns.args
        if not 1 <= len(args) <= 2:
            raise UsageError('"kill" requires a minimum of 1 and a maximum of 2 argument(s)')
        from ociruntime.signals import SIGTERM, parse_signal

        sig = parse_signal(args[1]) if len(args) == 2 else SIGTERM
        container.kill(root_dir(ns), args[0], sig, ns.all)
        return 0
    if cmd == "delete":
        container.delete(root_dir(ns), one_id(ns, cmd), ns.force, log)
        return 0
    from ociruntime import cli_full

    return cli_full.dispatch(ns, log)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ociruntime`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # runc: an unknown command exits 3 with "No help topic for 'X'".
    first = _first_word(argv)
    log = Logger(None)
    try:
        ns: Any = fast_parse(argv)
        if ns is None:
            from ociruntime import cli_full

            if first is not None and first not in COMMANDS:
                sys.stderr.write(f"No help topic for '{first}'\n")
                return 3
            ns = cli_full.build_parser().parse_args(argv)
        if ns.log_format not in ("text", "json"):
            sys.stderr.write(f"invalid log-format: {ns.log_format}\n")
            return 1
        log = Logger(ns.log or None, ns.log_format, ns.debug)
        if ns.version or not ns.command:
            from ociruntime import cli_full

            return cli_full.version_or_help(ns)
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
    posix._exit(code)


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
