"""DMN decision tables are pathway code too: every expression in them is compiled at deploy under the sandbox's
policy, and one it refuses stops the deploy with the file, the decision or rule, and the line."""

import pytest

from .helpers import CONSENT, DMN, LAB, SAMPLE, assert_rejected, upload

INPUT_ENTRY = "<text>&gt;= 7</text>"
OUTPUT_ENTRY = '<text>"kiireellinen"</text>'
INPUT_EXPRESSION = "<text>kipu</text>"


def with_dmn(old: str, new: str) -> dict[str, bytes]:
    """The sample package with one text of its decision table (kiireellisyys.dmn) replaced."""
    table = DMN.decode()
    assert old in table
    return {"esitieto.bpmn": SAMPLE.encode(), "kiireellisyys.dmn": table.replace(old, new, 1).encode(),
            "suostumus.md": CONSENT, "laboratoriotulos.json": LAB}


def line_of(files: dict[str, bytes], fragment: str) -> int:
    text = files["kiireellisyys.dmn"].decode()
    return text[:text.index(fragment)].count("\n") + 1


@pytest.mark.parametrize("old, new, element, what, reason", [
    (INPUT_ENTRY, "<text>__import__('os')</text>", "Rule_kiireellinen", "input entry 1", "__import__"),
    (INPUT_ENTRY, "<text>().__class__</text>", "Rule_kiireellinen", "input entry 1", "__class__"),
    (INPUT_ENTRY, "<text>? == ().__class__</text>", "Rule_kiireellinen", "input entry 1", "__class__"),
    (OUTPUT_ENTRY, "<text>__import__('os').getcwd()</text>", "Rule_kiireellinen", "output entry 1", "__import__"),
    (OUTPUT_ENTRY, "<text>().__class__.__bases__</text>", "Rule_kiireellinen", "output entry 1", "__class__"),
    (INPUT_EXPRESSION, "<text>kipu.__class__</text>", "kiireellisyys", "input expression", "__class__"),
])
def test_forbidden_dmn_expressions_are_refused_at_deploy(api, ctx, old, new, element, what, reason):
    files = with_dmn(old, new)
    response = upload(api, files)
    assert_rejected(response, "kiireellisyys.dmn", what, "uses what pathway code may not", reason, element=element)
    [problem] = [p for p in response.json["errors"] if p["element"] == element]
    assert problem["file"].endswith("kiireellisyys.dmn") and problem["line"] == line_of(files, new)


def test_a_dmn_expression_that_does_not_compile_is_refused_at_deploy(api, ctx):
    response = upload(api, with_dmn(OUTPUT_ENTRY, "<text>'kiireellinen</text>"))
    assert_rejected(response, "output entry 1 of rule 'Rule_kiireellinen' does not compile",
                    element="Rule_kiireellinen")


@pytest.mark.parametrize("entry", ["&gt;= 7", "-", "7", "? &gt; 6 and ? &lt; 11", '"7", "8"', "kipu &gt; 6"])
def test_ordinary_dmn_entries_deploy(api, ctx, entry):
    assert upload(api, with_dmn(INPUT_ENTRY, f"<text>{entry}</text>")).status_code == 201
