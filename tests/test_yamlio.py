"""YAML reading: line numbers, duplicate keys, aliases, merge keys, and the canonical writer."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lmcache_gitops.read import yamlio
from lmcache_gitops.read.yamlio import MAX_ALIAS_NODES, dump_all, load_documents


def test_lines_of_fields_and_list_items() -> None:
    (doc,), problems = load_documents("a:\n  b: 1\n  c:\n  - x\n  - y: 2\n", "f.yaml")
    assert problems == []
    assert doc.data == {"a": {"b": 1, "c": ["x", {"y": 2}]}}
    assert doc.line(("a", "b")) == 2
    assert doc.line(("a", "c", 1, "y")) == 5
    assert doc.line(("a", "c", 1, "missing")) == 5  # the nearest ancestor that exists


def test_documents_and_their_lines_across_separators() -> None:
    docs, _ = load_documents("a: 1\n---\n---\nb: 2\n", "f.yaml")
    assert [d.data for d in docs] == [{"a": 1}, {"b": 2}]
    assert docs[1].line(("b",)) == 4


def test_duplicate_keys_are_an_error_not_last_wins() -> None:
    docs, problems = load_documents("x:\n  a: 1\n  a: 2\n", "f.yaml")
    assert docs == []
    assert [str(p) for p in problems] == ["f.yaml:3: x.a: duplicate key (first set at line 2)"]


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    docs, problems = load_documents("\n".join(lines) + "\n", "bomb.yaml")
    assert docs == []
    assert f"aliases expand to more than {MAX_ALIAS_NODES} nodes" in problems[0].message


def test_small_aliases_and_merge_keys_work() -> None:
    text = "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nlist: [*b]\n"
    (doc,), problems = load_documents(text, "f.yaml")
    assert problems == []
    assert doc.data["use"] == {"x": 1, "y": 3}
    assert doc.data["list"] == [{"x": 1, "y": 2}]


def test_deep_nesting_is_refused() -> None:
    _, problems = load_documents("a: " + "[" * 150 + "]" * 150 + "\n", "f.yaml")
    assert "nesting deeper than 100 levels" in problems[0].message


def test_timestamps_stay_text() -> None:
    (doc,), _ = load_documents("when: 2024-01-02\n", "f.yaml")
    assert doc.data == {"when": "2024-01-02"}


def test_writer_is_canonical() -> None:
    text = dump_all([{"b": "multi\nline", "a": [1, {"d": "x", "c": True}]}, {"z": "'quoted'"}])
    assert text == "a:\n- 1\n- c: true\n  d: x\nb: |-\n  multi\n  line\n---\nz: '''quoted'''\n"


# Text made of what decides how YAML writes a string: indicators, spaces, breaks, quotes, digits and
# words the resolver reads as other types, tabs and text beyond ASCII (which go to PyYAML).
_PIECES = [
    *"-?:#,[]{}&*!|>'\"%@` .\n\t0123456789xYe_+=<~",
    "é",
    "---",
    "...",
    "true",
    "no",
    "null",
    "0x1f",
    "1:20",
    "2024-01-02",
    ".inf",
]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)
_SCALARS = st.one_of(
    _TEXT, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(), st.sampled_from(["plain", "kv-cache"])
)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_DOCUMENTS, min_size=1, max_size=3), st.booleans())
def test_own_emitter_writes_pyyamls_bytes(documents: list[Any], sort_keys: bool) -> None:
    assert dump_all(documents, sort_keys=sort_keys) == yamlio.pyyaml_dump_all(documents, sort_keys=sort_keys)


def test_own_emitter_writes_the_tree_shapes_itself() -> None:
    """The shapes of the tree's files take the fast path (the property above would also hold if
    everything fell back to PyYAML)."""
    shapes = [
        {"data": {"lmcache.json": '{\n  "host": "x"\n}\n'}, "spec": {"args": ["--port", "8000"], "empty": {}}},
        {"a": [[1, 2.5e20], [], {}], "b": "it's", "c": "", "d": "yes", "e": None, "f": "a: b", "g": "x #y"},
    ]
    for shape in shapes:
        assert yamlio._emit(shape, True) == yamlio.pyyaml_dump_all([shape])
