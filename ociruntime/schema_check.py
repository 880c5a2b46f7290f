"""Our JSON Schema files as a quick check that needs neither jsonschema nor its import.

Engines write a new ``config.json`` for every container (its hostname, mount sources,
annotations and cgroup path differ), so the digest cache of ``schema.py`` misses on every
``create`` they make, and each miss imported jsonschema: 50-70 ms, more than runc's whole
``create``. This module checks a document against the schema files in ``spec/`` with the
few draft 2020-12 keywords they use, and it has only two answers:

- **valid**: the document passes every keyword of the schema, so jsonschema accepts it too
  (tests/unit/test_schema_check.py compares the two on the official test vectors, the
  mutation corpus of the schema tests and thousands of random mutations);
- **not sure**: a keyword failed, or the schema uses a keyword this module does not
  implement (a schema edited later, say). ``schema.py`` then asks jsonschema, which stays
  the authority and words the error; a check that fails here costs only that import.

So jsonschema is loaded for a config that is wrong, never for a right one.

The keywords follow jsonschema 4's code for them: a keyword applies only to instances of
its type (``minimum`` to numbers, ``required`` to objects, ...), ``integer`` excludes
``1.0`` (as ``schema.py`` redefines it), and ``enum`` compares strings only with strings.
"""

from __future__ import annotations

import posix

from ociruntime import fastjson as json
from ociruntime.schema_files import SCHEMA_FILES, schema_dir_str

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from re import Pattern
    from typing import Any

#: Keywords that say nothing about validity (annotations, and ``$defs`` that ``$ref`` reads).
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description",
                          "examples", "default", "x-message"})


class _Unsure(Exception):
    """The schema uses something this module does not implement: ask jsonschema."""


#: The schema documents by file name, each read on first use.
_docs: dict[str, Any] = {}
_patterns: dict[str, Pattern[str]] = {}


def _doc(name: str) -> Any:
    """Schema file *name* (its ``$ref`` to ``defs.json`` is the file next to it, as
    jsonschema resolves it against the ``$id``, which ends with that same file name)."""
    doc = _docs.get(name)
    if doc is None:
        if name not in SCHEMA_FILES:
            raise _Unsure(f"no schema file {name!r}")
        fd = posix.open(f"{schema_dir_str()}/{name}", posix.O_RDONLY | posix.O_CLOEXEC)
        try:
            chunks = []
            while chunk := posix.read(fd, 65536):
                chunks.append(chunk)
        finally:
            posix.close(fd)
        doc = json.loads(b"".join(chunks))
        if not isinstance(doc, dict) or not str(doc.get("$id", "")).endswith("/" + name):
            raise _Unsure(f"$id of {name}")
        _docs[name] = doc
    return doc


def is_valid(schema_name: str, instance: Any) -> bool:
    """True when *instance* is valid against schema file *schema_name* (e.g.
    ``config-schema.json``); False when it is not, or when this module cannot tell."""
    try:
        return _valid(_doc(schema_name), instance, schema_name)
    except (_Unsure, OSError, ValueError):
        return False


def _valid(schema: Any, x: Any, base: str) -> bool:
    """Whether *x* passes *schema*, a part of schema file *base* (for its ``$ref``)."""
    if isinstance(schema, bool):  # the schemas true (anything) and false (nothing)
        return schema
    if not isinstance(schema, dict):
        raise _Unsure(f"schema {schema!r}")
    for key, arg in schema.items():
        if key in _ANNOTATIONS or key in ("then", "else"):  # then/else are read by "if"
            continue
        check = _KEYWORDS.get(key)
        if check is None:
            raise _Unsure(key)
        if not check(arg, x, schema, base):
            return False
    return True


def _unsure(what: str) -> bool:
    raise _Unsure(what)


# --- the keywords: each returns whether x passes it -------------------------------------------


def _type(arg: Any, x: Any, _schema: dict[str, Any], _base: str) -> bool:
    if isinstance(arg, str):
        return _is_type(arg, x)
    return any(_is_type(t, x) for t in arg)


def _is_type(name: str, x: Any) -> bool:
    if name == "object":
        return isinstance(x, dict)
    if name == "array":
        return isinstance(x, list)
    if name == "string":
        return isinstance(x, str)
    if name == "integer":  # 1.0 is not one (schema.py redefines jsonschema's "integer")
        return isinstance(x, int) and not isinstance(x, bool)
    if name == "number":
        return isinstance(x, int | float) and not isinstance(x, bool)
    if name == "boolean":
        return isinstance(x, bool)
    if name == "null":
        return x is None
    return _unsure(f"type {name!r}")


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _ref(arg: str, x: Any, _schema: dict[str, Any], base: str) -> bool:
    # "#/$defs/a" in this file, "defs.json#/$defs/a" in the file next to it.
    where, _, pointer = arg.partition("#")
    if "/" in where or ":" in where:
        return _unsure(f"$ref {arg!r}")
    base = where or base
    target = _doc(base)
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or part not in target:
            return _unsure(f"$ref {arg!r}")
        target = target[part]
    return _valid(target, x, base)


def _properties(arg: dict[str, Any], x: Any, _schema: dict[str, Any], base: str) -> bool:
    if not isinstance(x, dict):
        return True
    return all(_valid(sub, x[k], base) for k, sub in arg.items() if k in x)


def _additional(arg: Any, x: Any, schema: dict[str, Any], base: str) -> bool:
    if not isinstance(x, dict):
        return True
    if "patternProperties" in schema:
        return _unsure("patternProperties")
    named = schema.get("properties") or {}
    return all(_valid(arg, v, base) for k, v in x.items() if k not in named)


def _property_names(arg: Any, x: Any, _schema: dict[str, Any], base: str) -> bool:
    return not isinstance(x, dict) or all(_valid(arg, k, base) for k in x)


def _required(arg: list[str], x: Any, _schema: dict[str, Any], _base: str) -> bool:
    return not isinstance(x, dict) or all(k in x for k in arg)


def _dependent_required(arg: dict[str, list[str]], x: Any, _schema: dict[str, Any],
                        _base: str) -> bool:
    if not isinstance(x, dict):
        return True
    return all(d in x for k, deps in arg.items() if k in x for d in deps)


def _items(arg: Any, x: Any, schema: dict[str, Any], base: str) -> bool:
    if not isinstance(x, list):
        return True
    if "prefixItems" in schema:
        return _unsure("prefixItems")
    return all(_valid(arg, item, base) for item in x)


def _min_items(arg: int, x: Any, _schema: dict[str, Any], _base: str) -> bool:
    return not isinstance(x, list) or len(x) >= arg


def _min_length(arg: int, x: Any, _schema: dict[str, Any], _base: str) -> bool:
    return not isinstance(x, str) or len(x) >= arg


def _pattern(arg: str, x: Any, _schema: dict[str, Any], _base: str) -> bool:
    if not isinstance(x, str):
        return True
    known = _KNOWN_PATTERNS.get(arg)
    if known is not None:
        return known(x)
    compiled = _patterns.get(arg)
    if compiled is None:
        import re  # only for a pattern not in _KNOWN_PATTERNS (~5 ms)

        compiled = _patterns[arg] = re.compile(arg)
    return compiled.search(x) is not None


def _minimum(arg: float, x: Any, _schema: dict[str, Any], _base: str) -> bool:
    return not _number(x) or x >= arg


def _maximum(arg: float, x: Any, _schema: dict[str, Any], _base: str) -> bool:
    return not _number(x) or x <= arg


def _enum(arg: list[Any], x: Any, _schema: dict[str, Any], _base: str) -> bool:
    if not all(isinstance(v, str) for v in arg):
        return _unsure("enum of non-strings")
    return isinstance(x, str) and x in arg


def _any_of(arg: list[Any], x: Any, _schema: dict[str, Any], base: str) -> bool:
    return any(_valid(sub, x, base) for sub in arg)


def _if(arg: Any, x: Any, schema: dict[str, Any], base: str) -> bool:
    branch = "then" if _valid(arg, x, base) else "else"
    return branch not in schema or _valid(schema[branch], x, base)


# --- the patterns of spec/, without importing re ----------------------------------------------

_DIGITS = frozenset("0123456789")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ALNUM_HYPHEN = _DIGITS | _UPPER | frozenset("abcdefghijklmnopqrstuvwxyz-")


def _numeric_id(s: str) -> bool:
    """``0|[1-9][0-9]*``: a SemVer number, without leading zeros."""
    return s == "0" or (s != "" and s[0] != "0" and set(s) <= _DIGITS)


def _semver(s: str) -> bool:
    """SemVer 2.0.0: N.N.N, then ``-`` dot-separated pre-release identifiers (numbers without
    leading zeros, or ``[0-9A-Za-z-]`` with a non-digit), then ``+`` build identifiers."""
    main, plus, build = s.partition("+")
    if plus and not all(i and set(i) <= _ALNUM_HYPHEN for i in build.split(".")):
        return False
    core, dash, pre = main.partition("-")
    numbers = core.split(".")
    if len(numbers) != 3 or not all(_numeric_id(n) for n in numbers):
        return False
    return not dash or all(
        _numeric_id(i) or (i != "" and set(i) <= _ALNUM_HYPHEN and not set(i) <= _DIGITS)
        for i in pre.split("."))


def _size(s: str) -> bool:
    """``[1-9][0-9]*[KMG]B``: a hugepage size such as 2MB."""
    return (len(s) >= 3 and s[0] in "123456789" and set(s[1:-2]) <= _DIGITS
            and s[-2] in "KMG" and s[-1] == "B")


#: The patterns of our schema files as plain predicates, keyed by the exact pattern text: a
#: valid document does not load ``re`` (~5 ms). ``$(?!\n)`` is the end of the string (``$``
#: alone also matches before a final newline). A pattern edited in spec/ no longer finds its
#: key here and goes through ``re``; tests/unit/test_schema_check.py compares every
#: predicate with ``re.search`` on random strings.
_KNOWN_PATTERNS: dict[str, Callable[[str], bool]] = {
    "^(?:0|[1-9][0-9]*)\\.(?:0|[1-9][0-9]*)\\.(?:0|[1-9][0-9]*)(?:-(?:0|[1-9][0-9]*|[0-9]*"
    "[A-Za-z-][0-9A-Za-z-]*)(?:\\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(?:\\+"
    "[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$(?!\\n)": _semver,
    "^CAP_[A-Z0-9_]+$(?!\\n)":
        lambda s: s.startswith("CAP_") and len(s) > 4 and set(s[4:]) <= _UPPER | _DIGITS | {"_"},
    "^MB:[^\\n]*$(?!\\n)": lambda s: s.startswith("MB:") and "\n" not in s,
    "^RLIMIT_[A-Z]+$(?!\\n)":
        lambda s: s.startswith("RLIMIT_") and len(s) > 7 and set(s[7:]) <= _UPPER,
    "^[0-9, -]*$(?!\\n)": lambda s: set(s) <= _DIGITS | {",", " ", "-"},
    "^[1-9][0-9]*[KMG]B$(?!\\n)": _size,
    "^[^=\\u0000]+=[^\\u0000]*$": lambda s: "\0" not in s and s.find("=") > 0,
    "^[rwm]*$(?!\\n)": lambda s: set(s) <= {"r", "w", "m"},
}


_KEYWORDS: dict[str, Callable[[Any, Any, dict[str, Any], str], bool]] = {
    "type": _type,
    "$ref": _ref,
    "properties": _properties,
    "additionalProperties": _additional,
    "propertyNames": _property_names,
    "required": _required,
    "dependentRequired": _dependent_required,
    "items": _items,
    "minItems": _min_items,
    "minLength": _min_length,
    "pattern": _pattern,
    "minimum": _minimum,
    "maximum": _maximum,
    "enum": _enum,
    "anyOf": _any_of,
    "if": _if,
}
