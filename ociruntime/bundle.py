"""Loading an OCI bundle: ``config.json`` read, schema-checked, then semantically checked."""

from __future__ import annotations

import os

from ociruntime import fastjson as json
from ociruntime.errors import ConfigError
from ociruntime.record import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@dataclass
class Bundle:
    """A loaded bundle: its absolute path, config and absolute rootfs path."""

    path: str
    config: dict[str, Any]
    rootfs: str
    warnings: list[str]
    #: The cache marker that a first check of this config earned, for :func:`remember`.
    marker: str | None = None


def load(bundle: str, cache_dir: str | None = None, rootless: bool = False,
         raw: bytes | None = None) -> Bundle:
    """Read and validate ``<bundle>/config.json`` (schema layer, then semantic layer).

    ``raw`` is that file's content when the caller has read it already.

    Both layers are skipped when ``cache_dir`` holds a marker for these exact bytes in this
    bundle (and the rootfs is still a plain directory; :func:`remember` writes it): the
    quick schema check, the semantic checks and their imports cost ~3 ms otherwise. The
    marker keeps the warnings the semantic layer gave. Engines write a new config for every
    container, so for them it hits only when a container is started again;
    ``schema_files.write_marker`` keeps the cache bounded.
    """
    bundle = os.path.abspath(bundle or ".")
    if raw is None:
        raw = read_config(bundle)
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"config.json: invalid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError("config.json: must be a JSON object")

    root_path = (config.get("root") or {}).get("path") or "rootfs"
    rootfs = os.path.normpath(os.path.join(bundle, str(root_path)))
    marker = None
    if cache_dir is not None:
        from ociruntime.schema_files import cache_key

        key = cache_key(b"%s\0%s\0%d" % (raw, bundle.encode(), rootless))
        marker = os.path.join(cache_dir, "valid-" + key)
        cached = _read_marker(marker)
        if cached is not None and os.path.realpath(rootfs) == rootfs \
                and os.path.isdir(rootfs):
            return Bundle(path=bundle, config=config, rootfs=rootfs, warnings=cached)

    from ociruntime import schema_check, validate
    from ociruntime.schema_files import CONFIG_SCHEMA

    if not schema_check.is_valid(CONFIG_SCHEMA, config):
        from ociruntime import schema  # jsonschema words what is wrong

        schema.validate_config(config)
    warnings = list(validate.validate_config(config, bundle, rootless=rootless))
    return Bundle(path=bundle, config=config, rootfs=rootfs, warnings=warnings, marker=marker)


def remember(b: Bundle) -> None:
    """Write the marker that lets the next :func:`load` of the same bytes skip both checks
    (``create`` does it while the init sets up, when nothing waits for it)."""
    if b.marker is not None:
        from ociruntime.schema_files import write_marker

        write_marker(b.marker, json.dumps(b.warnings).encode())


def read_config(bundle: str) -> bytes:
    """The bytes of ``<bundle>/config.json``; ``ConfigError`` in runc's words if unreadable."""
    cfg_path = os.path.join(bundle, "config.json")
    try:
        with open(cfg_path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ConfigError("JSON specification file config.json not found") from None
    except OSError as exc:
        raise ConfigError(f"open {cfg_path}: {exc.strerror}") from None


def _read_marker(path: str) -> list[str] | None:
    try:
        with open(path, "rb") as f:
            value = json.loads(f.read())
    except (OSError, ValueError):
        return None
    return [str(w) for w in value] if isinstance(value, list) else None
