"""Where the JSON Schema files are, and the cache markers of configs checked against them.

Apart from ``schema`` (the jsonschema glue and its error messages) and ``schema_check``
so that the common case of ``create``, a config that validated before, costs two ``stat``
calls and one sha256 of the config bytes (``bundle.py`` keeps the markers).

Where the files live: the canonical copies are in ``spec/`` at the top of the repository,
next to the ``ociruntime`` package, and an installed (non-editable) distribution ships the
same files as ``ociruntime/spec/``. :func:`schema_dir_str` looks in that order.
"""

from __future__ import annotations

import os

from ociruntime import SPEC_VERSION
from ociruntime.errors import OCIRuntimeError

try:  # the builtin module: hashlib would load OpenSSL on every create
    from _sha256 import sha256
except ImportError:  # pragma: no cover - builds without it
    from hashlib import sha256

CONFIG_SCHEMA = "config-schema.json"
STATE_SCHEMA = "state-schema.json"
FEATURES_SCHEMA = "features-schema.json"
#: Every schema file; ``defs.json`` holds the definitions the three entry points share.
SCHEMA_FILES = ("defs.json", CONFIG_SCHEMA, STATE_SCHEMA, FEATURES_SCHEMA)
#: Files that decide whether a config is valid (and so are part of the cache tag).
CONFIG_FILES = ("defs.json", CONFIG_SCHEMA)

#: Where :func:`schema_dir_str` looks: the repository's ``spec/`` first, then the installed copy.
_HERE = os.path.dirname(os.path.realpath(__file__))
_CANDIDATE_DIRS = (
    os.path.join(os.path.dirname(_HERE), "spec"),
    os.path.join(_HERE, "spec"),
)

_schema_dir: str | None = None
_cache_tag: bytes | None = None


def schema_dir_str() -> str:
    """The directory holding every schema file; ``OCIRuntimeError`` if none has them all."""
    global _schema_dir
    if _schema_dir is None:
        for candidate in _CANDIDATE_DIRS:
            if all(os.path.isfile(os.path.join(candidate, n)) for n in SCHEMA_FILES):
                _schema_dir = candidate
                break
        else:
            looked = ", ".join(_CANDIDATE_DIRS)
            raise OCIRuntimeError(f"runtime-spec JSON schemas not found (looked in {looked})")
    return _schema_dir


def schema_tag() -> bytes:
    """The cache tag: the spec version and the identity of the config schema files.

    Identity is what a ``.pyc`` is checked by: size, modification time and inode of each
    file. Editing or replacing a schema changes it and so invalidates every marker.
    """
    global _cache_tag
    if _cache_tag is None:
        parts = [f"ociruntime-config-schema/{SPEC_VERSION}"]
        for name in CONFIG_FILES:
            st = os.stat(os.path.join(schema_dir_str(), name))
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")
        _cache_tag = ("/".join(parts) + "\n").encode()
    return _cache_tag


def cache_key(raw: bytes) -> str:
    """Hex sha256 of (schema tag + *raw*): the marker file name for those config bytes."""
    return sha256(schema_tag() + bytes(raw)).hexdigest()


#: Markers kept at most in a cache directory (the newest). Engines write a new config for
#: every container, so an unbounded cache would grow by a file for every container created.
MAX_MARKERS = 256


def write_marker(path: str, data: bytes) -> None:
    """Write the cache marker ``path`` atomically and keep only the newest
    :data:`MAX_MARKERS` of its directory. Errors are ignored: a cache is optional."""
    from ociruntime import state

    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        state.write_atomic(path, data)
    except OSError:
        return
    state.prune_dir(directory, MAX_MARKERS, spare=os.path.basename(path))
