"""``cli.fast_parse`` reads what argparse (``cli_full.build_parser``) reads, for the
invocations it accepts; everything else it leaves to argparse (returns None)."""

from __future__ import annotations

import pytest

from ociruntime import cli, cli_full

EXEC_FIELDS = ("command", "root", "log", "log_format", "debug", "systemd_cgroup", "cwd", "env",
               "tty", "user", "additional_gids", "process", "detach", "pid_file",
               "process_label", "apparmor", "no_new_privs", "cap", "preserve_fds", "cgroup",
               "ignore_paused", "console_socket", "exec_args")

EXEC_CASES = [
    "exec c1 /bin/true",
    "exec -t c1 sh -c x",
    "exec --tty --detach c1 sh",
    "exec -d --pid-file /run/p.pid --console-socket /run/s.sock c1 top -b",
    "exec -e A=1 -e B=2 --env=C=3 c1 env",
    "exec -g 5 --additional-gids 6 --additional-gids=7 c1 id",
    "exec -u 1000:1000 --cwd /tmp c1 pwd",
    "exec --user=0 c1 id",
    "exec -p /run/process.json c1",
    "exec --process /run/process.json --detach --pid-file p c1",
    "exec --preserve-fds 2 c1 sh",
    "exec --cgroup memory:/a --cgroup /b c1 sh",
    "exec -c CAP_NET_ADMIN --cap CAP_SYS_TIME c1 sh",
    "exec --no-new-privs --ignore-paused --apparmor p --process-label l c1 sh",
    "exec c1 sh -t --tty -e X",
    "exec c1",
    "--root /run/x --log /tmp/l --log-format json exec c1 ls",
    "--debug --systemd-cgroup exec -t c1 sh",
]


@pytest.mark.parametrize("line", EXEC_CASES)
def test_fast_exec_reads_what_argparse_reads(line: str) -> None:
    argv = line.split()
    fast = cli.fast_parse(argv)
    assert fast is not None, "the common forms must not need argparse"
    slow = cli_full.build_parser().parse_args(argv)
    assert fast.id == [slow.id]
    for name in EXEC_FIELDS:
        assert getattr(fast, name) == getattr(slow, name), name


@pytest.mark.parametrize("line", [
    "exec -td c1 sh",          # combined short flags
    "exec -u1:2 c1 sh",        # a short flag's value attached
    "exec c1 -- sh",           # argparse drops that "--"
    "exec -- c1 sh",
    "exec -g x c1 sh",         # argparse's error for a gid that is not a number
    "exec --preserve-fds -1 c1 sh",
    "exec --unknown c1 sh",
    "exec --tty",              # no id: argparse's usage error
    "exec --cwd",
])
def test_fast_exec_leaves_the_rest_to_argparse(line: str) -> None:
    assert cli.fast_parse(line.split()) is None


LIFECYCLE_CASES = [
    ("create -b /b --console-socket /s --pid-file /p --no-pivot --no-new-keyring c1",
     ("bundle", "console_socket", "pid_file", "no_pivot", "no_new_keyring", "preserve_fds")),
    ("--root /r create --bundle=/b --preserve-fds 3 c1", ("root", "bundle", "preserve_fds")),
    ("run -d --keep --no-subreaper -b /b c1", ("detach", "keep", "no_subreaper", "bundle")),
    ("--log /l --log-format json start c1", ("log", "log_format")),
    ("state c1", ()),
    ("pause c1", ()),
    ("--root /r resume c1", ("root",)),
    ("delete -f c1", ("force",)),
    ("--debug delete --force c1", ("debug", "force")),
]


@pytest.mark.parametrize("line,fields", LIFECYCLE_CASES)
def test_fast_lifecycle_reads_what_argparse_reads(line: str, fields: tuple[str, ...]) -> None:
    argv = line.split()
    fast = cli.fast_parse(argv)
    assert fast is not None
    slow = cli_full.build_parser().parse_args(argv)
    assert (fast.command, fast.id) == (slow.command, slow.id)
    for name in fields:
        assert getattr(fast, name) == getattr(slow, name), name


@pytest.mark.parametrize("line,want", [
    ("kill c1", ["c1"]), ("kill c1 KILL", ["c1", "KILL"]), ("kill -a c1 9", ["c1", "9"]),
])
def test_fast_kill_reads_what_argparse_reads(line: str, want: list[str]) -> None:
    argv = line.split()
    fast = cli.fast_parse(argv)
    slow = cli_full.build_parser().parse_args(argv)
    assert fast is not None and fast.args == slow.args == want
    assert fast.all == slow.all
