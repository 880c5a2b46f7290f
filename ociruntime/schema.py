"""First validation layer: JSON Schema checks of config.json, state and features documents.

The schemas are the project's own draft 2020-12 files for runtime-spec v1.3.0 (``defs.json``,
``config-schema.json``, ``state-schema.json``, ``features-schema.json``). They only check the
structure of a document; cross-field and host-dependent rules (absolute paths, duplicate
namespaces, ...) belong to the semantic layer.

Where the files live and the cache key of ``bundle.py``'s markers are in ``schema_files``.

``import jsonschema`` costs 50-120 ms, so it is imported lazily, inside the validating
functions, never at module import, and only for a document that ``schema_check`` (the same
schema files as a quick check with the few keywords they use) does not find valid: a valid
document never loads it, and jsonschema words the error of an invalid one.

Errors are :class:`ociruntime.errors.ConfigError` whose ``field`` is the JSON path of the bad
element in dotted form (``process.args``, ``linux.namespaces[2].type``, keys that are not plain
identifiers in brackets: ``linux.sysctl["net.ipv4.ip_forward"]``).
"""

from __future__ import annotations

from ociruntime.errors import ConfigError
from ociruntime.schema_files import (
    CONFIG_SCHEMA,
    FEATURES_SCHEMA,
    SCHEMA_FILES,
    STATE_SCHEMA,
    schema_dir_str,
)

# Everything else (json, re, pathlib, jsonschema) is imported only when jsonschema has to
# word an error.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path
    from typing import Any

__all__ = [
    "CONFIG_SCHEMA",
    "FEATURES_SCHEMA",
    "SCHEMA_FILES",
    "STATE_SCHEMA",
    "schema_dir",
    "validate_config",
    "validate_features",
    "validate_state",
]

# Lazily filled cache (one process validates at most a handful of documents).
_validators: dict[str, Any] = {}

#: Enum values listed in full in a message; longer lists (seccomp architectures) are cut.
_MAX_CHOICES = 10
_IDENT_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_IDENT_REST = _IDENT_FIRST | frozenset("0123456789")


def _is_ident(s: str) -> bool:
    return bool(s) and s[0] in _IDENT_FIRST and all(c in _IDENT_REST for c in s)

_JSON_TYPES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def schema_dir() -> Path:
    """Return the directory holding the schema files (the repository's or the installed copy).

    Raises :class:`~ociruntime.errors.OCIRuntimeError` when neither location has all the files,
    which means a broken installation.
    """
    from pathlib import Path

    return Path(schema_dir_str())


def validate_config(doc: Any) -> None:
    """Check a parsed config.json against the runtime-spec v1.3.0 config schema.

    Raises :class:`~ociruntime.errors.ConfigError` naming the offending field. (``create``
    remembers the configs that passed both layers: ``bundle.py``.)
    """
    _validate(CONFIG_SCHEMA, doc, "config")


def validate_state(doc: Any) -> None:
    """Check a container state document (runtime.md, State); raises ``ConfigError``."""
    _validate(STATE_SCHEMA, doc, "state")


def validate_features(doc: Any) -> None:
    """Check a runtime features document (features.md); raises ``ConfigError``."""
    _validate(FEATURES_SCHEMA, doc, "features document")


# --- validation --------------------------------------------------------------------------------


def _validator(name: str) -> Any:
    """Build (once) the validator of schema file *name*, with every schema file in its registry.

    The registry has no retrieval function, so a ``$ref`` outside our files fails instead of
    touching the network. The ``integer`` type is redefined to exclude floats such as ``1.0``
    (draft 2020-12 accepts them; Go's decoder in runc and our own code do not).
    """
    validator = _validators.get(name)
    if validator is not None:
        return validator

    import json

    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    directory = schema_dir()
    contents = {n: json.loads((directory / n).read_bytes()) for n in SCHEMA_FILES}
    registry: Registry[Any] = Registry().with_resources(
        (c["$id"], Resource.from_contents(c, default_specification=DRAFT202012))
        for c in contents.values()
    )
    base = jsonschema.Draft202012Validator

    def is_integer(checker: Any, instance: object) -> bool:
        return isinstance(instance, int) and not isinstance(instance, bool)

    cls = jsonschema.validators.extend(
        base, type_checker=base.TYPE_CHECKER.redefine("integer", is_integer)
    )
    validator = cls(contents[name], registry=registry)
    _validators[name] = validator
    return validator


def _validate(name: str, doc: Any, what: str) -> None:
    # The quick check first: a valid document never loads jsonschema (schema_check.py).
    from ociruntime import schema_check

    if schema_check.is_valid(name, doc):
        return
    from jsonschema.exceptions import best_match

    error = best_match(_validator(name).iter_errors(doc))
    if error is None:
        return
    message, path = _describe(error)
    field = _format_path(path)
    if not field:
        message = f"{what} {message}"
    raise ConfigError(message, field=field or None)


# --- error messages ----------------------------------------------------------------------------


def _format_path(path: Iterable[str | int]) -> str:
    """``["linux", "namespaces", 2, "type"]`` -> ``linux.namespaces[2].type``."""
    import json

    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _is_ident(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _json_type(instance: object) -> str:
    if isinstance(instance, bool):
        return "boolean"
    if isinstance(instance, int):
        return "integer"
    if isinstance(instance, float):
        return "number"
    if isinstance(instance, str):
        return "string"
    if isinstance(instance, list):
        return "array"
    if isinstance(instance, dict):
        return "object"
    if instance is None:
        return "null"
    return type(instance).__name__


def _show(value: object, limit: int = 60) -> str:
    """A short JSON rendering of *value* for messages."""
    try:
        import json

        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: Any) -> tuple[str, list[str | int]]:
    """Turn a jsonschema ``ValidationError`` into (short sentence, path of the bad element)."""
    path: list[str | int] = list(error.absolute_path)
    keyword = error.validator
    value = error.validator_value
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}

    # anyOf/oneOf alternatives with a message of their own ("set weight or leafWeight").
    parent = error.parent
    while parent is not None:
        if isinstance(parent.schema, dict) and "x-message" in parent.schema:
            return str(parent.schema["x-message"]), list(parent.absolute_path)
        parent = parent.parent

    if keyword in ("anyOf", "oneOf") and "x-message" in schema:
        return str(schema["x-message"]), path
    if "propertyNames" in error.relative_schema_path:
        if keyword == "minLength" and value == 1:
            return "must not have an empty key", path
        return f"has an invalid key {_show(instance)}", path

    if keyword == "required":
        missing = [p for p in value if isinstance(instance, dict) and p not in instance]
        if missing:
            return "is a required property", [*path, missing[0]]
    if keyword == "dependentRequired" and isinstance(instance, dict):
        for prop, needed in value.items():
            if prop in instance:
                for dep in needed:
                    if dep not in instance:
                        return f"is required when {prop} is set", [*path, dep]
    if keyword == "type":
        types = [value] if isinstance(value, str) else list(value)
        expected = " or ".join(_JSON_TYPES.get(t, t) for t in types)
        actual = _JSON_TYPES.get(_json_type(instance), _json_type(instance))
        return f"must be {expected}, not {actual}", path
    if keyword == "enum":
        allowed = ", ".join(_show(v) for v in value[:_MAX_CHOICES])
        if len(value) > _MAX_CHOICES:
            allowed += f", ... ({len(value)} values)"
        return f"must be one of {allowed}; got {_show(instance)}", path
    if keyword == "const":
        return f"must be {_show(value)}; got {_show(instance)}", path
    if keyword in ("minimum", "exclusiveMinimum"):
        bound = "at least" if keyword == "minimum" else "greater than"
        return f"must be {bound} {value}; got {_show(instance)}", path
    if keyword in ("maximum", "exclusiveMaximum"):
        bound = "at most" if keyword == "maximum" else "less than"
        return f"must be {bound} {value}; got {_show(instance)}", path
    if keyword == "minLength":
        if value == 1:
            return "must not be empty", path
        return f"must be at least {value} characters long", path
    if keyword == "maxLength":
        return f"must be at most {value} characters long", path
    if keyword == "minItems":
        if value == 1:
            return "must not be empty", path
        return f"must have at least {value} items", path
    if keyword == "maxItems":
        return f"must have at most {value} items", path
    if keyword == "pattern":
        hint = schema.get("x-message")
        if hint:
            return f"{hint}; got {_show(instance)}", path
        return f"{_show(instance)} does not match {value}", path
    return str(error.message), path
