"""The five capability sets of ``process.capabilities``, applied in runc's order.

Bounding is dropped first (``PR_CAPBSET_DROP``) while the process still has
CAP_SETPCAP; ``PR_SET_KEEPCAPS`` keeps the permitted set across the uid change; then one
``capset`` sets effective, permitted and inheritable, and ambient capabilities are raised
one by one (errors ignored, as runc: an ambient cap that is not also permitted and
inheritable silently does nothing).
"""

from __future__ import annotations

from ociruntime import capnames
from ociruntime import linux as L
from ociruntime.record import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@dataclass
class CapSets:
    """The five sets as bit masks over capability numbers."""

    bounding: int = 0
    effective: int = 0
    permitted: int = 0
    inheritable: int = 0
    ambient: int = 0


def parse(caps: dict[str, Any] | None, last_cap: int) -> tuple[CapSets, list[str]]:
    """Masks for the config's capability names, and the unknown names (a runc warning)."""
    sets = CapSets()
    unknown: list[str] = []
    for kind in ("bounding", "effective", "permitted", "inheritable", "ambient"):
        mask = 0
        for name in (caps or {}).get(kind) or []:
            n = capnames.cap_number(name)
            if n is None or n > last_cap:
                if name not in unknown:
                    unknown.append(name)
                continue
            mask |= 1 << n
        setattr(sets, kind, mask)
    return sets, unknown


def drop_bounding(sets: CapSets, last_cap: int) -> None:
    """Drop from the bounding set every capability not listed in ``bounding``."""
    for n in range(last_cap + 1):
        if not sets.bounding & (1 << n):
            L.prctl(L.PR_CAPBSET_DROP, n)


def apply(sets: CapSets, last_cap: int) -> None:
    """Set effective/permitted/inheritable in one capset, then raise the ambient ones."""
    L.capset(sets.effective, sets.permitted, sets.inheritable)
    L.prctl(L.PR_CAP_AMBIENT, L.PR_CAP_AMBIENT_CLEAR_ALL)
    for n in range(last_cap + 1):
        if sets.ambient & (1 << n):
            try:
                L.prctl(L.PR_CAP_AMBIENT, L.PR_CAP_AMBIENT_RAISE, n)
            except OSError:
                pass
