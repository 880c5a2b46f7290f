"""End-to-end latency through the engines: ``podman run --rm`` and ``ctr run --rm`` of busybox
``true``, with each runtime in turn (run as root).

    sudo .venv/bin/python bench/engines.py [--iterations N] [--runtimes ociruntime,runc]

It reuses the private engine setups of the end-to-end tests (tests/e2e/engines.py: podman
with its own storage and configuration, a containerd of its own), loads the busybox image
that tests/e2e/mkimage.py builds, and takes turns between the runtimes on every iteration.
Each engine writes a new config for every container, as in real use. Everything it made is
removed at the end, also when interrupted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.e2e.engines import Containerd, Podman, RuntimeUnderTest  # noqa: E402

RUNTIMES = {"ociruntime": str(REPO / ".venv" / "bin" / "ociruntime"), "runc": "runc",
            "crun": "crun"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", "-n", type=int, default=7)
    p.add_argument("--runtimes", default="ociruntime,runc",
                   help="comma-separated: ociruntime, runc, crun or paths")
    p.add_argument("--engines", default="podman,containerd", help="podman, containerd or both")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/engines.py: run as root")
    needed = {"podman": ["podman", "conmon"], "containerd": ["containerd", "ctr"]}
    missing = [tool for engine, tools in needed.items() if engine in args.engines
               for tool in tools if shutil.which(tool) is None]
    if missing:
        sys.exit(f"bench/engines.py: needs {', '.join(missing)} (install.sh installs them)")
    # Short paths: with a run directory ~40 characters longer, podman 4.3 waits 20 s for the
    # exit of every container (conmon's paths under it go past a limit), whatever the runtime.
    work = Path(tempfile.mkdtemp(prefix="eb-"))
    archive = work / "busybox.oci.tar"
    rootfs = work / "rootfs"
    subprocess.run(["bash", str(REPO / "bundles" / "build-rootfs.sh"), str(rootfs)], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, str(REPO / "tests" / "e2e" / "mkimage.py"), str(rootfs),
                    str(archive)], check=True)
    engines: list[tuple[str, str, Podman | Containerd]] = []
    times: dict[tuple[str, str], list[float]] = {}
    try:
        for n, name in enumerate(args.runtimes.split(",")):
            os.environ["E2E_RUNTIME"] = RUNTIMES.get(name, name)
            rt = RuntimeUnderTest(work / str(n))
            if "podman" in args.engines:
                pod = Podman(work / str(n) / "p", rt, archive)
                engines.append(("podman run --rm", name, pod))
                pod.load_image()
            if "containerd" in args.engines:
                ctr = Containerd(work / str(n) / "c", rt, archive)
                engines.append(("ctr run --rm", name, ctr))
                ctr.start()
                ctr.import_image()
        for i in range(args.iterations + 1):  # the first round warms up, untimed
            for what, name, eng in engines:
                if isinstance(eng, Podman):
                    argv = ["run", "--rm", eng.image, "true"]
                else:
                    argv = ["run", "--rm", *eng.run_args(), eng.image, f"bench{i}", "true"]
                t = time.perf_counter()
                eng(*argv, timeout=60)
                if i:
                    times.setdefault((what, name), []).append((time.perf_counter() - t) * 1e3)
    finally:
        leaks = []
        for _, _, eng in engines:  # cleanup() also stops a containerd
            leaks += eng.cleanup()
        shutil.rmtree(work, ignore_errors=True)
        if leaks:
            print("cleaned up by force:", *leaks, sep="\n  ", file=sys.stderr)
    print(f"{'engine command':18} {'runtime':12} {'median ms':>10}  samples")
    for (what, name), samples in times.items():
        print(f"{what:18} {name:12} {statistics.median(samples):10.1f}  "
              + " ".join(f"{s:.0f}" for s in samples))


if __name__ == "__main__":
    main()
