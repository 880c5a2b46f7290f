"""cgroup v2 device filtering: a ``BPF_PROG_TYPE_CGROUP_DEVICE`` program we assemble
ourselves and attach with ``bpf(BPF_PROG_ATTACH, BPF_F_ALLOW_MULTI)``, as runc 1.1.5's
``ebpf/devicefilter`` and ``ebpf/ebpf_linux.go`` do (crun's ``ebpf.c`` has the same shape).

The program sees ``struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }``
in R1 (``access_type`` = device type in the low 16 bits, access bits in the high 16) and
returns 1 (allow) or 0 (deny). It loads the fields into R2..R5, then has one block per rule
of the emulator's minimal rule list, each a chain of "if this field differs, go to the next
block" jumps ending in ``return <allow>``; the last block returns the default action::

    0: r2 = *(u32 *)(r1 + 0); w2 &= 0xffff     type
    2: r3 = *(u32 *)(r1 + 0); w3 >>= 16        access
    4: r4 = *(u32 *)(r1 + 4)                   major
    5: r5 = *(u32 *)(r1 + 8)                   minor
    block-N: if r2 != TYPE goto block-N+1
             [w1 = w3; w1 &= ACC; if r1 != r3 goto block-N+1]   unless ACC is rwm
             [if r4 != MAJOR goto block-N+1]                     unless major is *
             [if r5 != MINOR goto block-N+1]                     unless minor is *
             w0 = ALLOW; exit
    block-last: w0 = DEFAULT; exit
"""

from __future__ import annotations

import errno as _errno
import os
import resource
import struct

from ociruntime import ffi
from ociruntime import linux as L
from ociruntime.errors import CgroupError
from ociruntime.record import dataclass

from .devices import Emulator, perm_set
from .resources import WILDCARD, DeviceRule

LICENSE = "Apache"  # runc's string; the kernel only needs a known license name

# struct bpf_insn opcodes (linux/bpf_common.h, linux/bpf.h)
BPF_LDX, BPF_ALU, BPF_JMP = 0x01, 0x04, 0x05
BPF_W, BPF_MEM = 0x00, 0x60
BPF_K, BPF_X = 0x00, 0x08
BPF_AND, BPF_RSH, BPF_MOV = 0x50, 0x70, 0xB0
BPF_JNE, BPF_EXIT = 0x50, 0x90

# bpf(2) commands, program/attach types and flags
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 1 << 1
BPF_F_REPLACE = 1 << 2

BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR = 1, 2
BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE = 1, 2, 4

ATTR_SIZE = 128  # bigger than every command's attr we use; the rest stays zero


@dataclass
class Insn:
    """One instruction; ``ref`` is a jump target label, ``sym`` labels this instruction."""

    code: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    ref: str | None = None
    sym: str | None = None

    def encode(self) -> bytes:
        return struct.pack("<BBhi", self.code, (self.src << 4) | self.dst, self.off, self.imm)

    def describe(self) -> str:
        """cilium/ebpf's ``Instruction.String`` (what runc's tests print), unlinked jumps
        showing ``off: -1`` and their target."""
        op = self.code
        ref = f" <{self.ref}>" if self.ref else ""
        off = -1 if self.ref else self.off
        if op == BPF_LDX | BPF_MEM | BPF_W:
            return f"LdXMemW dst: r{self.dst} src: r{self.src} off: {self.off} imm: {self.imm}"
        if op & 0x07 == BPF_ALU:
            name = {BPF_AND: "And", BPF_RSH: "RSh", BPF_MOV: "Mov"}[op & 0xF0]
            if op & BPF_X:
                return f"{name}32Reg dst: r{self.dst} src: r{self.src}"
            return f"{name}32Imm dst: r{self.dst} imm: {self.imm}"
        if op == BPF_JMP | BPF_EXIT:
            return "Exit"
        if op & 0xF0 == BPF_JNE:
            if op & BPF_X:
                return f"JNEReg dst: r{self.dst} off: {off} src: r{self.src}{ref}"
            return f"JNEImm dst: r{self.dst} off: {off} imm: {self.imm}{ref}"
        return f"op {op:#x}"


def _ldx_w(dst: int, src: int, off: int) -> Insn:
    return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off)


def _alu32_imm(op: int, dst: int, imm: int) -> Insn:
    return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm)


def _jne_imm(dst: int, imm: int, ref: str) -> Insn:
    return Insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm, ref)


def _ret(v: int) -> list[Insn]:
    return [_alu32_imm(BPF_MOV, 0, v), Insn(BPF_JMP | BPF_EXIT)]


def device_filter(rules: list[DeviceRule]) -> list[Insn]:
    """runc's ``devicefilter.DeviceFilter``: the program for a config's device rules."""
    emu = Emulator.from_rules(rules)
    clean = emu.minimal_rules()
    default_allow = emu.is_blacklist()
    insns = [
        _ldx_w(2, 1, 0), _alu32_imm(BPF_AND, 2, 0xFFFF),
        _ldx_w(3, 1, 0), _alu32_imm(BPF_RSH, 3, 16),
        _ldx_w(4, 1, 4),
        _ldx_w(5, 1, 8),
    ]
    block = 0
    for idx, rule in enumerate(clean):
        if rule.type == "a":
            if idx != 0 or rule.allow != default_allow:
                raise CgroupError(f"[internal error] emulated cgroupv2 devices ruleset had bad "
                                  f"wildcard at idx {idx} ({rule.cgroup_string()})")
            continue
        if rule.allow == default_allow:
            raise CgroupError(f"[internal error] emulated cgroupv2 devices ruleset had no-op "
                              f"rule at idx {idx} ({rule.cgroup_string()})")
        nxt = f"block-{block + 1}"
        body = [_jne_imm(2, BPF_DEVCG_DEV_CHAR if rule.type == "c" else BPF_DEVCG_DEV_BLOCK,
                         nxt)]
        acc = 0
        ps = perm_set(rule.access)
        if ps & 1:
            acc |= BPF_DEVCG_ACC_READ
        if ps & 2:
            acc |= BPF_DEVCG_ACC_WRITE
        if ps & 4:
            acc |= BPF_DEVCG_ACC_MKNOD
        if acc != BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD:
            body += [Insn(BPF_ALU | BPF_MOV | BPF_X, 1, 3),
                     _alu32_imm(BPF_AND, 1, acc),
                     Insn(BPF_JMP | BPF_JNE | BPF_X, 1, 3, 0, 0, nxt)]
        if rule.major != WILDCARD:
            body.append(_jne_imm(4, rule.major, nxt))
        if rule.minor != WILDCARD:
            body.append(_jne_imm(5, rule.minor, nxt))
        body += _ret(1 if rule.allow else 0)
        body[0].sym = f"block-{block}"
        insns += body
        block += 1
    final = _ret(1 if default_allow else 0)
    final[0].sym = f"block-{block}"
    return insns + final


def link(insns: list[Insn]) -> list[Insn]:
    """Resolve every ``ref`` into a relative jump offset."""
    where = {i.sym: n for n, i in enumerate(insns) if i.sym}
    out = []
    for n, i in enumerate(insns):
        if i.ref is not None:
            if i.ref not in where:
                raise CgroupError(f"[internal error] eBPF jump to unknown label {i.ref}")
            i = Insn(i.code, i.dst, i.src, where[i.ref] - n - 1, i.imm, None, i.sym)
        out.append(i)
    return out


def assemble(insns: list[Insn]) -> bytes:
    """The program's bytes (8 per instruction, little endian)."""
    return b"".join(i.encode() for i in link(insns))


def listing(insns: list[Insn]) -> str:
    """A cilium-style listing (labels on their own line), for tests and debugging."""
    lines = []
    for n, i in enumerate(insns):
        if i.sym:
            lines.append(f"{i.sym}:")
        lines.append(f"\t{n}: {i.describe()}")
    return "\n".join(lines)


# --- the kernel side --------------------------------------------------------------------------


def _attr() -> ffi.Array[ffi.c_char]:
    return ffi.create_string_buffer(ATTR_SIZE)


def _bpf(cmd: int, attr: ffi.Array[ffi.c_char], what: str) -> int:
    try:
        return L.bpf(cmd, attr)
    except OSError as exc:
        err = exc.errno or _errno.EIO
        raise _BpfError(err, f"{what}: {os.strerror(err).lower()}") from None


class _BpfError(CgroupError):
    def __init__(self, err: int, message: str) -> None:
        self.errno = err
        super().__init__(message)


def load_program(code: bytes, license: str = LICENSE) -> int:
    """BPF_PROG_LOAD a CGROUP_DEVICE program; on a verifier error the log is included."""
    insns = ffi.create_string_buffer(code, len(code))
    lic = ffi.create_string_buffer(license.encode())

    def load(log: ffi.Array[ffi.c_char] | None) -> int:
        attr = _attr()
        struct.pack_into("<IIQQ", attr, 0, BPF_PROG_TYPE_CGROUP_DEVICE, len(code) // 8,
                         ffi.addressof(insns), ffi.addressof(lic))
        if log is not None:
            struct.pack_into("<IIQ", attr, 24, 1, len(log), ffi.addressof(log))
        return _bpf(BPF_PROG_LOAD, attr, "bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE)")

    try:
        return load(None)
    except _BpfError as exc:
        if exc.errno == _errno.EPERM:
            # Old kernels charge programs to RLIMIT_MEMLOCK (runc raises it, #2167); this
            # runs in the runtime after the init was forked, so the init never inherits it.
            try:
                resource.setrlimit(resource.RLIMIT_MEMLOCK,
                                   (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                return load(None)
            except (OSError, ValueError, _BpfError):
                pass
        if exc.errno in (_errno.EINVAL, _errno.EACCES):
            log = ffi.create_string_buffer(65536)
            try:
                return load(log)
            except _BpfError:
                text = log.value.decode(errors="replace").strip()
                raise CgroupError(f"{exc}: {text}" if text else str(exc)) from None
        raise


def query_programs(dirfd: int) -> list[int]:
    """Ids of the CGROUP_DEVICE programs attached to the cgroup (runc retries on ENOSPC)."""
    size = 64
    for _ in range(10):
        ids = (ffi.c_uint32 * max(size, 1))()
        attr = _attr()
        struct.pack_into("<IIIIQI", attr, 0, dirfd, BPF_CGROUP_DEVICE, 0, 0,
                         ffi.addressof(ids), size)
        try:
            _bpf(BPF_PROG_QUERY, attr, "bpf_prog_query(BPF_CGROUP_DEVICE) failed")
        except _BpfError as exc:
            if exc.errno == _errno.ENOSPC:
                size = struct.unpack_from("<I", attr, 24)[0]
                continue
            raise
        count = struct.unpack_from("<I", attr, 24)[0]
        return list(ids[:count])
    raise CgroupError("could not get complete list of CGROUP_DEVICE programs")


def program_fd(prog_id: int) -> int:
    attr = _attr()
    struct.pack_into("<I", attr, 0, prog_id)
    return _bpf(BPF_PROG_GET_FD_BY_ID, attr, f"cannot fetch program from id {prog_id}")


def attach(dirfd: int, progfd: int, flags: int, replace_fd: int = 0) -> None:
    attr = _attr()
    struct.pack_into("<IIIII", attr, 0, dirfd, progfd, BPF_CGROUP_DEVICE, flags, replace_fd)
    _bpf(BPF_PROG_ATTACH, attr,
         "failed to call BPF_PROG_ATTACH (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)")


def detach(dirfd: int, progfd: int) -> None:
    attr = _attr()
    struct.pack_into("<IIII", attr, 0, dirfd, progfd, BPF_CGROUP_DEVICE, 0)
    _bpf(BPF_PROG_DETACH, attr, "failed to call BPF_PROG_DETACH (BPF_CGROUP_DEVICE)")


_replace_supported: bool | None = None


def have_prog_replace() -> bool:
    """Does BPF_PROG_ATTACH know BPF_F_REPLACE (Linux 5.6)? runc's probe: attach a trivial
    program to /dev/null with ALLOW_MULTI|REPLACE: EINVAL means no, EBADF means yes."""
    global _replace_supported
    if _replace_supported is None:
        _replace_supported = False
        try:
            prog = load_program(assemble(_ret(0)), "MIT")
        except CgroupError:
            return False
        devnull = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        try:
            attach(devnull, prog, BPF_F_ALLOW_MULTI | BPF_F_REPLACE)
        except _BpfError as exc:
            _replace_supported = exc.errno != _errno.EINVAL
        else:
            _replace_supported = True
        finally:
            os.close(devnull)
            os.close(prog)
    return _replace_supported


def load_attach_device_filter(code: bytes, dirfd: int, license: str = LICENSE) -> None:
    """runc's ``LoadAttachCgroupDeviceFilter``: load the program and attach it to the
    cgroup behind ``dirfd``; a single old program is replaced atomically (BPF_F_REPLACE),
    otherwise every old one is detached after the new one is in place."""
    old_ids = query_programs(dirfd)
    old_fds: list[int] = []
    try:
        for pid in old_ids:
            try:
                old_fds.append(program_fd(pid))
            except _BpfError as exc:
                # Programs an LSM hides from us (systemd's, under SELinux) only add
                # restrictions; runc skips them too.
                if exc.errno in (_errno.EPERM, _errno.EACCES):
                    continue
                raise
        use_replace = len(old_fds) == 1 and have_prog_replace()
        prog = load_program(code, license)
        try:
            if use_replace:
                attach(dirfd, prog, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, old_fds[0])
            else:
                attach(dirfd, prog, BPF_F_ALLOW_MULTI)
                for fd in old_fds:
                    try:
                        detach(dirfd, fd)
                    except CgroupError as exc:
                        raise CgroupError(f"{exc} on old filter program") from None
        finally:
            os.close(prog)
    finally:
        for fd in old_fds:
            os.close(fd)
