"""The device-cgroup emulator (runc's ``cgroups/devices`` ``Emulator``), our own code.

Both device back ends start from it, as runc's do:

* v1 (``devices.allow``/``devices.deny``): the current state is read from ``devices.list``
  and ``transition`` yields the fewest rules that turn it into the target, so a running
  container never goes through a deny-all moment unless it has to (a black-list source
  always starts with the disruptive ``a *:* rwm``, since ``devices.list`` cannot show its
  deny exceptions).
* v2 (eBPF): ``rules`` yields the minimal allow-list (or deny-list) the program encodes.

Punching a hole in a wildcard rule (``deny c 1:3`` inside ``allow c *:*``) is refused, as
cgroup v1 silently ignores it.
"""

from __future__ import annotations

from ociruntime.errors import CgroupError
from ociruntime.record import dataclass, field

from .resources import WILDCARD, DeviceRule

_READ, _WRITE, _MKNOD = 1, 2, 4


def perm_set(p: str) -> int:
    s = 0
    for c in p:
        s |= {"r": _READ, "w": _WRITE, "m": _MKNOD}.get(c, 0)
    return s


def perm_str(s: int) -> str:
    return ("r" if s & _READ else "") + ("w" if s & _WRITE else "") + ("m" if s & _MKNOD else "")


Meta = tuple[str, int, int]  # (type, major, minor)


def _ordered(rules: dict[Meta, int]) -> list[tuple[Meta, int]]:
    # runc sorts by (major, minor, type), comparing the type as a character.
    return sorted(rules.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0]))


def _meta_str(m: Meta, perms: int) -> str:
    return f"[{{{m[0]} {m[1]} {m[2]}}} {perm_str(perms)}]"


@dataclass
class Emulator:
    """A device cgroup: default allow (black-list) or deny (white-list) plus exceptions."""

    default_allow: bool = False
    rules: dict[Meta, int] = field(default_factory=dict)

    def is_blacklist(self) -> bool:
        return self.default_allow

    def is_allow_all(self) -> bool:
        return self.default_allow and not self.rules

    def _add(self, meta: Meta, perms: int) -> None:
        self.rules[meta] = self.rules.get(meta, 0) | perms

    def _remove(self, meta: Meta, perms: int) -> None:
        t, major, minor = meta
        for partial in ((t, WILDCARD, minor), (t, major, WILDCARD), (t, WILDCARD, WILDCARD)):
            if partial == meta:
                continue
            have = self.rules.get(partial, 0)
            if have & perms:
                raise CgroupError(
                    f"requested rule {_meta_str(meta, perms)} not supported by devices "
                    f"cgroupv1 (cannot punch hole in existing wildcard rule "
                    f"{_meta_str(partial, have)})")
        left = self.rules.get(meta, 0) & ~perms
        if left:
            self.rules[meta] = left
        else:
            self.rules.pop(meta, None)

    def _allow(self, meta: Meta | None, perms: int) -> None:
        if meta is None:
            self.default_allow, self.rules = True, {}
        elif self.default_allow:
            self._wrap(self._remove, meta, perms, "unable to remove 'deny' exception")
        else:
            self._add(meta, perms)

    def _deny(self, meta: Meta | None, perms: int) -> None:
        if meta is None:
            self.default_allow, self.rules = False, {}
        elif self.default_allow:
            self._add(meta, perms)
        else:
            self._wrap(self._remove, meta, perms, "unable to remove 'allow' exception")

    @staticmethod
    def _wrap(fn: object, meta: Meta, perms: int, text: str) -> None:
        try:
            fn(meta, perms)  # type: ignore[operator]
        except CgroupError as exc:
            raise CgroupError(f"{text}: {exc}") from None

    def apply(self, rule: DeviceRule) -> None:
        """Apply one config rule in order (runc's ``Emulator.Apply``)."""
        if rule.type not in ("a", "b", "c"):
            raise CgroupError(f"cannot add rule with non-cgroup type {rule.type!r}")
        meta = None if rule.type == "a" else (rule.type, rule.major, rule.minor)
        if rule.allow:
            self._allow(meta, perm_set(rule.access))
        else:
            self._deny(meta, perm_set(rule.access))

    @classmethod
    def from_rules(cls, rules: list[DeviceRule]) -> Emulator:
        """The target state of a rule list; it starts as a white-list (deny all)."""
        emu = cls()
        for r in rules:
            emu.apply(r)
        return emu

    @classmethod
    def from_list(cls, text: str) -> Emulator:
        """The state shown by ``devices.list`` (``a *:* rwm`` means black-list mode)."""
        emu = cls()
        for line in text.splitlines():
            fields = line.replace(":", " ").split()
            if len(fields) != 4:
                raise CgroupError(f'error parsing line "{line}": malformed devices.list rule')
            node, major, minor, perms = fields
            if node == "a":
                emu._allow(None, 0)
                continue
            if node not in ("b", "c"):
                raise CgroupError(f'error parsing line "{line}": unknown device type "{node}"')
            try:
                ma = WILDCARD if major == "*" else int(major)
                mi = WILDCARD if minor == "*" else int(minor)
            except ValueError:
                raise CgroupError(
                    f'error parsing line "{line}": invalid major/minor number') from None
            p = perm_set(perms)
            if not p or perm_str(p) != perms:
                raise CgroupError(f'error parsing line "{line}": parse access mode: contained '
                                  f'unknown modes or is empty: "{perms}"')
            emu._allow((node, ma, mi), p)
        return emu

    def transition(self, target: Emulator) -> list[DeviceRule]:
        """The minimal rules that turn this cgroup into ``target`` (runc's ``Transition``)."""
        out: list[DeviceRule] = []
        old = self.rules
        if self.is_blacklist() or self.default_allow != target.default_allow:
            out.append(DeviceRule("a", WILDCARD, WILDCARD, "rwm", target.default_allow))
            old = {}
        for meta, old_perms in _ordered(old):
            dropped = old_perms & ~target.rules.get(meta, 0)
            if dropped:
                out.append(DeviceRule(meta[0], meta[1], meta[2], perm_str(dropped),
                                      target.default_allow))
        for meta, new_perms in _ordered(target.rules):
            gained = new_perms & ~old.get(meta, 0)
            if gained:
                out.append(DeviceRule(meta[0], meta[1], meta[2], perm_str(gained),
                                      not target.default_allow))
        return out

    def minimal_rules(self) -> list[DeviceRule]:
        """Rules that turn a deny-all cgroup into this state (runc's ``Rules``)."""
        return Emulator().transition(self)
