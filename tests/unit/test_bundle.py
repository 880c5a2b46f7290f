"""Tests of bundle loading (``ociruntime.bundle``) and the validation cache key."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ociruntime import bundle, schema, schema_files, specgen, validate
from ociruntime.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def spec_bundle(tmp_path: Path) -> Path:
    """A bundle as ``ociruntime spec`` writes it, with an empty rootfs directory."""
    specgen.write_spec(str(tmp_path), False)
    (tmp_path / "rootfs").mkdir()
    return tmp_path


def test_load_reads_config(spec_bundle: Path) -> None:
    b = bundle.load(str(spec_bundle))
    assert b.path == str(spec_bundle)
    assert b.rootfs == str(spec_bundle / "rootfs")
    assert b.config["process"]["args"] == ["sh"]


def test_load_uses_the_bytes_given(spec_bundle: Path) -> None:
    # A foreground run reads config.json once and creates from those same bytes.
    doc = json.loads((spec_bundle / "config.json").read_bytes())
    doc["process"]["args"] = ["echo", "given"]
    b = bundle.load(str(spec_bundle), raw=json.dumps(doc).encode())
    assert b.config["process"]["args"] == ["echo", "given"]


def test_read_config_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JSON specification file config.json not found"):
        bundle.read_config(str(tmp_path))


def test_cache_hit_skips_validation(
    spec_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first = bundle.load(str(spec_bundle), cache_dir=str(cache))
    assert not cache.exists()  # written by remember(), once the container is on its way
    bundle.remember(first)
    # one marker per config: the bundle's (schema and semantic layers)
    assert [m.name[:6] for m in cache.iterdir()] == ["valid-"]

    def must_not_run(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("validated again despite the marker")

    monkeypatch.setattr(validate, "validate_config", must_not_run)
    monkeypatch.setattr(schema, "validate_config", must_not_run)
    assert bundle.load(str(spec_bundle), cache_dir=str(cache)).config == first.config
    # other bytes are another key: validated again
    raw = (spec_bundle / "config.json").read_bytes() + b"\n"
    with pytest.raises(AssertionError, match="validated again"):
        bundle.load(str(spec_bundle), cache_dir=str(cache), raw=raw)


def test_marker_name_mode_and_no_temporary_files(spec_bundle: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    raw = (spec_bundle / "config.json").read_bytes()
    bundle.remember(bundle.load(str(spec_bundle), cache_dir=str(cache)))
    key = schema_files.cache_key(b"%s\0%s\0%d" % (raw, str(spec_bundle).encode(), False))
    assert [p.name for p in cache.iterdir()] == ["valid-" + key]
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert key != hashlib.sha256(raw).hexdigest(), "the schema tag is part of the key"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


def test_invalid_config_is_not_cached(spec_bundle: Path, tmp_path: Path) -> None:
    doc = json.loads((spec_bundle / "config.json").read_bytes())
    doc["process"]["args"] = "sh"
    for _ in range(2):
        with pytest.raises(ConfigError, match="process.args"):
            bundle.load(str(spec_bundle), cache_dir=str(tmp_path / "cache"),
                        raw=json.dumps(doc).encode())
    assert not (tmp_path / "cache").exists()


def test_cache_write_errors_are_ignored(spec_bundle: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    for cache in (blocker, blocker / "sub"):
        bundle.remember(bundle.load(str(spec_bundle), cache_dir=str(cache)))  # no exception


def test_cache_is_bounded(spec_bundle: Path, tmp_path: Path) -> None:
    """Engines write a new config for every container: the cache must not keep them all."""
    cache = tmp_path / "cache"
    doc = json.loads((spec_bundle / "config.json").read_bytes())
    for i in range(schema_files.MAX_MARKERS + 5):
        doc["hostname"] = f"host-{i}"
        bundle.remember(bundle.load(str(spec_bundle), cache_dir=str(cache),
                                    raw=json.dumps(doc).encode()))
        assert len(os.listdir(cache)) <= schema_files.MAX_MARKERS
    assert len(os.listdir(cache)) == schema_files.MAX_MARKERS
    # the newest are kept: the last config is still a hit
    b = bundle.load(str(spec_bundle), cache_dir=str(cache), raw=json.dumps(doc).encode())
    assert b.marker is None


def test_new_config_loads_neither_jsonschema_nor_re(spec_bundle: Path, tmp_path: Path) -> None:
    """What create does with the config an engine wrote for a new container: the quick schema
    check and the semantic layer, without jsonschema (50-120 ms) or re (~5 ms)."""
    code = "; ".join([
        "import sys",
        f"sys.path.insert(0, {str(REPO)!r})",
        "from ociruntime import bundle",
        f"b = bundle.load({str(spec_bundle)!r}, cache_dir={str(tmp_path / 'cache')!r})",
        "bundle.remember(b)",
        "print(sorted({'jsonschema', 'referencing', 're'} & set(sys.modules)))",
    ])
    # -S as the launcher (site's .pth processing imports re)
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "[]"
    assert len(os.listdir(tmp_path / "cache")) == 1


def _touch_later(path: Path) -> None:
    """Move the file's mtime one second on (what an edit does)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_schema_tag_follows_the_schema_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "spec"
    shutil.copytree(schema_files.schema_dir_str(), copy)
    monkeypatch.setattr(schema_files, "_schema_dir", str(copy))
    monkeypatch.setattr(schema_files, "_cache_tag", None)
    before = schema_files.cache_key(b"{}")
    _touch_later(copy / schema_files.CONFIG_SCHEMA)
    monkeypatch.setattr(schema_files, "_cache_tag", None)
    after = schema_files.cache_key(b"{}")
    assert after != before
    # the state and features schemas do not decide whether a config is valid
    _touch_later(copy / schema_files.STATE_SCHEMA)
    monkeypatch.setattr(schema_files, "_cache_tag", None)
    assert schema_files.cache_key(b"{}") == after
