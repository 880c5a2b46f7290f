"""The quick check of ``schema_check.py`` against jsonschema, the authority it stands in for.

``schema_check`` may say "valid" only where jsonschema does, and it should say so wherever
jsonschema does (or the speed-up is lost for that config). These tests compare the two on
the official test vectors, on the mutation corpus of ``test_schema.py`` and on random
mutations of a config with every field set, and compare each pattern shortcut with ``re``.
"""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from test_schema import MUTATIONS, NEEDS_SHARED, VECTORS, full_config, mutate, runc_spec

from ociruntime import schema, schema_check
from ociruntime.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
ENTRY = {"config": "config-schema.json", "state": "state-schema.json",
         "features": "features-schema.json"}


def jsonschema_accepts(name: str, doc: Any) -> bool:
    """jsonschema's own verdict, without the quick check in front of it."""
    return not any(True for _ in schema._validator(name).iter_errors(doc))


def agree(name: str, doc: Any) -> bool:
    quick = schema_check.is_valid(name, doc)
    return quick == jsonschema_accepts(name, doc)


# --- the documents ------------------------------------------------------------------------------


def vectors() -> list[Any]:
    if not VECTORS.is_dir():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=NEEDS_SHARED))]
    return [pytest.param(kind, path, id=f"{kind}/{path.parent.name}/{path.name}")
            for kind in ENTRY for path in sorted(VECTORS.glob(f"{kind}/*/*.json"))]


@pytest.mark.parametrize(("kind", "path"), vectors())
def test_official_vector(kind: str, path: Path) -> None:
    try:
        doc = json.loads(path.read_bytes())
    except ValueError:
        pytest.skip("not JSON: rejected before any schema is involved")
    assert agree(ENTRY[kind], doc)


def test_generated_configs_are_valid() -> None:
    assert schema_check.is_valid("config-schema.json", runc_spec())
    assert schema_check.is_valid("config-schema.json", full_config())


@pytest.mark.parametrize(("field", "value"), [pytest.param(m[1], m[2], id=m[0]) for m in MUTATIONS])
def test_mutation_corpus(field: str, value: Any) -> None:
    doc = mutate(full_config(), field, value)
    assert not schema_check.is_valid("config-schema.json", doc)
    assert not jsonschema_accepts("config-schema.json", doc)


#: Values a random mutation puts somewhere: every JSON type, edge numbers, strings that a
#: pattern, an enum or a minLength of the schema accepts or rejects.
VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 7, 65535, 2**32, 2**63, -(2**63) - 1, 2**64, 1.0, 2.5, -0.5,
    "", "x", "/abs", "rel", "1.3.0", "1.0", "RLIMIT_NOFILE", "RLIMIT_x", "rwm", "rwx", "c", "b",
    "mount", "network", "bogus", "A=b", "=b", "A", "0-3,7", "2MB", "0MB", "MB:0=1", "CAP_KILL",
    "SCMP_ACT_ALLOW", "SCMP_ARCH_X86_64", "IOPRIO_CLASS_BE", [], [1], ["a"], ["a", 1], {},
    {"a": 1}, {"": "x"}, {"type": "c"},
]


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*here, i))
    return out


def _random_mutation(doc: Any, rnd: random.Random) -> tuple[str, Any]:
    """Change one random place of *doc* in place; what was done, for the failure message."""
    path = rnd.choice(_paths(doc))
    parent: Any = doc
    for step in path[:-1]:
        parent = parent[step]
    node = parent[path[-1]] if path else doc
    op = rnd.randrange(4)
    if op == 0 and path:
        parent[path[-1]] = copy.deepcopy(rnd.choice(VALUES))
        return f"set {path}", parent[path[-1]]
    if op == 1 and path and isinstance(parent, dict):
        del parent[path[-1]]
        return f"delete {path}", None
    if op == 2 and isinstance(node, dict):
        key = rnd.choice(["extra", "type", "path", "allow", "major", ""])
        node[key] = copy.deepcopy(rnd.choice(VALUES))
        return f"add {path}.{key}", node[key]
    if isinstance(node, list):
        node.append(copy.deepcopy(rnd.choice(VALUES)))
        return f"append to {path}", node[-1]
    return "nothing", None


@pytest.mark.parametrize("seed", range(4))
def test_random_mutations(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(400):
        doc = full_config()
        done = [_random_mutation(doc, rnd) for _ in range(rnd.randrange(1, 4))]
        assert agree("config-schema.json", doc), done


# --- what it does not know, it leaves to jsonschema ----------------------------------------------


def test_unknown_keyword_is_unsure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(schema_check._docs, "odd.json", {
        "$id": "https://ociruntime.invalid/test/odd.json",
        "oneOf": [{"type": "integer"}, {"type": "string"}],
    })
    assert not schema_check.is_valid("odd.json", 1)  # valid, but only jsonschema can say
    assert not schema_check.is_valid("missing.json", 1)


def test_failed_check_is_worded_by_jsonschema() -> None:
    doc = mutate(runc_spec(), "linux.namespaces[0].type", "bogus")
    assert not schema_check.is_valid("config-schema.json", doc)
    with pytest.raises(ConfigError) as info:
        schema.validate_config(doc)
    assert info.value.field == "linux.namespaces[0].type"


# --- the pattern shortcuts ----------------------------------------------------------------------


def _schema_patterns() -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "pattern" and isinstance(v, str):
                    found.add(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for path in (REPO / "spec").glob("*.json"):
        walk(json.loads(path.read_bytes()))
    return found


def test_every_schema_pattern_has_a_shortcut() -> None:
    """Otherwise a config with such a string loads ``re`` (~5 ms) on every new config."""
    assert _schema_patterns() <= set(schema_check._KNOWN_PATTERNS)


SEEDS = ["1.0.0", "1.2.3-rc.1+b.2", "0.0.0-0", "1.0.0-01", "1.0.0-a-b.c", "1.0.0+01", "01.0.0",
         "CAP_SYS_ADMIN", "CAP_", "MB:0=1;1=2", "RLIMIT_NOFILE", "0-3,7", "2MB", "10GB", "02MB",
         "A=b", "=b", "A=", "A=b=c", "rwm", "", "\n", "1.0.0\n", "CAP_X\n", "A=b\n", "\nA=b"]
ALPHABET = "0123456789.-+abzAZ_ =\n\x00MBKGCAPRLIMT:rwm,\u0660\u00e9"


@pytest.mark.parametrize("pattern", sorted(schema_check._KNOWN_PATTERNS))
def test_shortcut_matches_re(pattern: str) -> None:
    rnd = random.Random(pattern)
    compiled = re.compile(pattern)
    predicate = schema_check._KNOWN_PATTERNS[pattern]
    cases = list(SEEDS)
    for _ in range(20000):
        chars = list(rnd.choice(SEEDS))
        for _ in range(rnd.randrange(4)):
            at = rnd.randrange(len(chars) + 1)
            op = rnd.randrange(3)
            if op == 0 and at < len(chars):
                del chars[at]
            elif op == 1 or at == len(chars):
                chars.insert(at, rnd.choice(ALPHABET))
            else:
                chars[at] = rnd.choice(ALPHABET)
        cases.append("".join(chars))
        cases.append("".join(rnd.choice(ALPHABET) for _ in range(rnd.randrange(8))))
    wrong = [c for c in cases if predicate(c) != (compiled.search(c) is not None)]
    assert wrong == []


# --- each keyword against jsonschema, on small schemas --------------------------------------------

#: (schema, instances): every instance is checked by both, whatever the verdict.
KEYWORD_CASES: list[tuple[dict[str, Any], list[Any]]] = [
    ({"type": "integer"}, [1, 0, -5, 1.0, 1.5, True, "1", None, [], {}]),
    ({"type": "number"}, [1, 1.5, True, "1", None]),
    ({"type": ["string", "null"]}, ["", None, 0, False]),
    ({"type": "boolean"}, [True, False, 0, 1, "true"]),
    ({"type": "object"}, [{}, {"a": 1}, [], "x"]),
    ({"type": "array"}, [[], [1], {}, "x"]),
    ({"enum": ["a", "b"]}, ["a", "c", 1, None, ["a"]]),
    ({"minimum": 0, "maximum": 10}, [0, 10, -1, 11, 5.5, -0.5, True, "5", None]),
    ({"minLength": 2}, ["ab", "a", "", "\u00e9\u00e9", 5, None]),
    ({"minItems": 1}, [[1], [], "", {}]),
    ({"pattern": "^[rwm]*$(?!\\n)"}, ["rw", "x", "", "rw\n", 5]),
    ({"required": ["a"]}, [{"a": 1}, {}, {"b": 1}, [], "a"]),
    ({"dependentRequired": {"a": ["b"]}}, [{}, {"a": 1}, {"a": 1, "b": 2}, {"b": 1}, []]),
    ({"properties": {"a": {"type": "string"}}}, [{"a": "x"}, {"a": 1}, {}, {"b": 1}, 3]),
    ({"properties": {"a": {}}, "additionalProperties": False},
     [{"a": 1}, {"b": 1}, {}, "x"]),
    ({"additionalProperties": {"type": "integer"}}, [{"a": 1}, {"a": "x"}, {}, [1]]),
    ({"propertyNames": {"minLength": 1}}, [{"a": 1}, {"": 1}, {}, []]),
    ({"items": {"type": "integer"}}, [[1, 2], [1, "x"], [], {"0": "x"}]),
    ({"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}, [{"a": 1}, {"b": 1}, {}, 3]),
    ({"if": {"properties": {"t": {"enum": ["c"]}}},
      "then": {"required": ["major"]}, "else": {"required": ["other"]}},
     [{"t": "c", "major": 1}, {"t": "c"}, {"t": "b", "other": 1}, {"t": "b"}, {}, 5]),
    ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, [{"a": 1}, {"a": 1, "b": 1}, {}]),
    ({"properties": {"x": True, "y": False}}, [{"x": 1}, {"y": 1}, {}]),
]


@pytest.mark.parametrize(("index"), range(len(KEYWORD_CASES)))
def test_keyword_agrees_with_jsonschema(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import jsonschema

    sub, instances = KEYWORD_CASES[index]
    doc = {"$id": "https://ociruntime.invalid/test/case.json", **sub}
    monkeypatch.setitem(schema_check._docs, "case.json", doc)
    base = jsonschema.Draft202012Validator
    cls = jsonschema.validators.extend(base, type_checker=base.TYPE_CHECKER.redefine(
        "integer", lambda _c, x: isinstance(x, int) and not isinstance(x, bool)))
    for x in instances:
        assert schema_check.is_valid("case.json", x) == cls(doc).is_valid(x), (sub, x)


@pytest.mark.parametrize("unknown", [
    {"oneOf": [{"type": "string"}]},
    {"patternProperties": {"^a": {}}, "additionalProperties": False},
    {"prefixItems": [{}], "items": {"type": "string"}},
    {"enum": [1, 2]},
    {"type": "decimal"},
    {"$ref": "https://elsewhere.invalid/x.json#/a"},
    {"$ref": "#/$defs/missing"},
])
def test_what_it_cannot_read_is_unsure(unknown: dict[str, Any],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(schema_check._docs, "case.json",
                        {"$id": "https://ociruntime.invalid/test/case.json", **unknown})
    for x in ("a", 1, ["a"], {"a": 1}):
        assert not schema_check.is_valid("case.json", x)
