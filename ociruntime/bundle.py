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


def load(bundle: str, cache_dir: str | None = None, rootless: bool = False) -> Bundle:
    """Read and validate ``<bundle>/config.json`` (schema layer, then semantic layer).

    The schema layer is skipped when a marker for these exact bytes is in ``cache_dir``:
    importing jsonschema costs ~120 ms on every create otherwise.
    """
    bundle = os.path.abspath(bundle or ".")
    cfg_path = os.path.join(bundle, "config.json")
    try:
        with open(cfg_path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ConfigError("JSON specification file config.json not found") from None
    except OSError as exc:
        raise ConfigError(f"open {cfg_path}: {exc.strerror}") from None
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"config.json: invalid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError("config.json: must be a JSON object")

    from ociruntime import schema, validate

    schema.validate_config(config, raw=raw, cache_dir=cache_dir)
    warnings = validate.validate_config(config, bundle, rootless=rootless)
    root_path = (config.get("root") or {}).get("path") or "rootfs"
    rootfs = os.path.normpath(os.path.join(bundle, root_path))
    return Bundle(path=bundle, config=config, rootfs=rootfs, warnings=list(warnings))
