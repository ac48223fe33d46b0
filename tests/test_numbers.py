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


@pytest.mark.parametrize("typed", ["83,1 kg", " 83.1kg ", "83,1 KG", "83,1\tkg"])
def test_the_unit_of_a_measurement_may_follow_the_number(typed):
    assert typed_number(typed, "kg") == 83.1
    assert typed_number(typed) is None


@pytest.mark.parametrize("typed", ["kg", "83,1 cm", "83,1 kgs", "kg 83,1", "83,1 kg kg"])
def test_only_the_measurement_s_own_unit_after_the_number(typed):
    assert typed_number(typed, "kg") is None


def test_forms_measurements_and_targets_read_numbers_the_same_way():
    from orchestrator.web import client, dashboards, schema_form

    for module in (dashboards, schema_form):
        assert module.typed_number is typed_number
    assert client.schema_form is schema_form  # free measurements are read as a form of measurement fields
