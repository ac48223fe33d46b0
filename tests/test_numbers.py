"""One reading of a number a person typed, for forms, free measurements and metric targets alike."""

import pytest

from orchestrator.web.numbers import typed_number


@pytest.mark.parametrize("typed, read", [
    ("72", 72), ("+72", 72), ("-3", -3), ("\u22123", -3), ("72,5", 72.5), ("72.5", 72.5), (" 72,5 ", 72.5),
    ("\u22125,25", -5.25), ("12.", 12.0), (",5", 0.5), ("0", 0),
])
def test_a_number_is_read_with_a_comma_or_a_point_and_either_minus(typed, read):
    value = typed_number(typed)
    assert value == read and type(value) is type(read)


@pytest.mark.parametrize("typed", ["", "abc", "1e5", "nan", "inf", "1 000", "1,2,3", "72 kg", "--3", ".", "0x10",
                                   "\u0661\u0662\u0660"])
def test_anything_else_is_not_a_number(typed):
    assert typed_number(typed) is None


def test_forms_measurements_and_targets_read_numbers_the_same_way():
    from orchestrator.web import client, dashboards, schema_form

    for module in (client, dashboards, schema_form):
        assert module.typed_number is typed_number
