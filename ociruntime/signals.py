"""Signal names and numbers on Linux, without importing ``signal`` (it pulls in ``enum``).

``kill`` runs on every engine stop; runc's ``parseSignal`` accepts a number, or a name
with or without ``SIG`` in any case.
"""

from __future__ import annotations

from ociruntime.errors import OCIRuntimeError

SIGKILL = 9
SIGTERM = 15

#: Linux (x86_64 and the generic table) signal numbers.
SIGNALS: dict[str, int] = {
    "SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6,
    "SIGIOT": 6, "SIGBUS": 7, "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11,
    "SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15, "SIGSTKFLT": 16,
    "SIGCHLD": 17, "SIGCLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20, "SIGTTIN": 21,
    "SIGTTOU": 22, "SIGURG": 23, "SIGXCPU": 24, "SIGXFSZ": 25, "SIGVTALRM": 26,
    "SIGPROF": 27, "SIGWINCH": 28, "SIGIO": 29, "SIGPOLL": 29, "SIGPWR": 30, "SIGSYS": 31,
}
SIGRTMIN = 34  # glibc keeps 32 and 33 for itself
SIGRTMAX = 64


def parse_signal(text: str) -> int:
    """runc's parseSignal: ``9``, ``KILL``, ``sigkill``, ``SIGRTMIN+3`` ..."""
    if text.isdigit():
        n = int(text)
        if 0 <= n <= SIGRTMAX:  # 0 only probes that the init exists
            return n
        raise OCIRuntimeError(f'unknown signal "{text}"')
    name = text.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    if name in SIGNALS:
        return SIGNALS[name]
    for base, num in (("SIGRTMIN", SIGRTMIN), ("SIGRTMAX", SIGRTMAX)):
        if name == base:
            return num
        if name.startswith(base) and name[len(base)] in "+-" and name[len(base) + 1:].isdigit():
            off = int(name[len(base) + 1:]) * (1 if name[len(base)] == "+" else -1)
            if SIGRTMIN <= num + off <= SIGRTMAX:
                return num + off
    raise OCIRuntimeError(f'unknown signal "{text}"')
