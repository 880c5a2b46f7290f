"""The simplest end-to-end path: run the default bundle in the foreground."""

from __future__ import annotations


def test_run_prints_from_inside(rt, make_bundle, cid):
    b = make_bundle(args=["sh", "-c", "echo hello; hostname; exit 7"])
    p = rt("run", "--bundle", str(b), cid)
    assert p.returncode == 7, p.stderr
    assert p.stdout.split() == ["hello", "ociruntime"]
    assert p.stderr == ""
    assert rt("state", cid).returncode == 1  # deleted after a foreground run
