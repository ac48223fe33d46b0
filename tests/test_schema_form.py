"""Forms from JSON Schema: fields built for the page, posted forms read back as typed answers,
validation messages by field, and the macros' HTML checked as a browser and a screen reader see it."""

import json
from pathlib import Path

import lxml.html
import pytest
from flask import Flask, render_template_string
from flask_babel import Babel, force_locale
from werkzeug.datastructures import MultiDict

from orchestrator.core.answers import field_errors
from orchestrator.web.filters import after_label, content_lang
from orchestrator.web.schema_form import Field, build, messages, parse, validate

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "orchestrator" / "web" / "templates"
PAGE = """{% from "web/_form_fields.html" import form_fields, error_summary %}<!doctype html>
<html lang="en"><head><title>Form</title></head><body>
{{ error_summary(fields, "There is a problem") }}
<form method="post" novalidate>{{ form_fields(fields) }}</form></body></html>"""

DIARY = {
    "type": "object",
    "properties": {
        "paivakirja": {
            "type": "array", "title": "Ruokapäiväkirja", "description": "Mitä söit tänään?",
            "items": {"type": "object", "required": ["ruoka"], "properties": {
                "ruoka": {"type": "string", "title": "Ruoka"},
                "maara": {"type": "number", "title": "Määrä", "unit": "g", "minimum": 0},
                "kotona": {"type": "boolean", "title": "Söitkö kotona?"},
            }},
        },
    },
}
CHOICES = {
    "type": "object",
    "required": ["vointi", "kunta"],
    "properties": {
        "vointi": {"type": "string", "title": "Miten voit?", "enum": ["hyva", "kohtalainen", "huono"]},
        "kunta": {"type": "string", "title": "Kotikunta", "enum": ["091", "049", "092", "853", "564", "837"]},
        "tupakka": {"type": "integer", "title": "Tupakoitko?",
                    "oneOf": [{"const": 0, "title": "En"}, {"const": 1, "title": "Satunnaisesti"},
                              {"const": 2, "title": "Päivittäin"}]},
        "oireet": {"type": "array", "title": "Oireet", "uniqueItems": True,
                   "items": {"type": "string", "enum": ["yska", "kuume", "nuha"]}},
        "suostumus": {"type": "boolean", "title": "Annan suostumukseni"},
        "kaynti": {"type": "string", "format": "date", "title": "Viimeisin käynti"},
        "verenpaine": {"type": "integer", "title": "Yläpaine", "exclusiveMinimum": 0, "exclusiveMaximum": 300},
    },
}
CHOICES_UI = {
    "vointi": {"ui:enumNames": ["Hyvin", "Kohtalaisesti", "Huonosti"]},
    "oireet": {"ui:enumNames": ["Yskä", "Kuume", "Nuha"]},
    "suostumus": {"ui:widget": "checkbox"},
    "verenpaine": {"ui:options": {"unit": "mmHg"}},
}


def form_file(name: str) -> dict:
    return json.loads((ROOT / "forms" / name).read_text(encoding="utf-8"))


@pytest.fixture
def page_app():
    app = Flask(__name__, template_folder=str(TEMPLATES))
    Babel(app)
    app.jinja_env.globals.update(content_lang=content_lang, after_label=after_label)  # as the service has them
    return app


@pytest.fixture(autouse=True)
def request_context(page_app):
    with page_app.test_request_context():
        yield


def by_name(fields: list[Field]) -> dict[str, Field]:
    return {f.name: f for top in fields for f in top.walk()}


def render(fields: list[Field]) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(render_template_string(PAGE, fields=fields))


def submitted(page: lxml.html.HtmlElement) -> MultiDict:
    """What a browser would post for the page's form."""
    return MultiDict(page.forms[0].form_values())


def text(element) -> str:
    return " ".join(element.text_content().split())


# build(): the fields of the project's own forms


def test_esitiedot_fields_follow_the_ui_order_with_their_widgets():
    fields = build(form_file("esitiedot.json"), form_file("esitiedot.ui.json"))

    assert [(f.name, f.widget) for f in fields] == [
        ("oireet", "textarea"), ("kesto_paivia", "integer"), ("kipu", "range"), ("laakitys", "radio-boolean"),
        ("laakkeet", "textarea"), ("paino_kg", "number"), ("pituus_cm", "number")]


def test_esitiedot_fields_carry_labels_hints_limits_and_places():
    fields = by_name(build(form_file("esitiedot.json"), form_file("esitiedot.ui.json")))

    oireet = fields["oireet"]
    assert (oireet.id, oireet.pointer, oireet.label) == ("f-oireet", "/oireet", "Mitä oireita sinulla on?")
    assert oireet.required and not fields["laakkeet"].required
    assert oireet.description == "Kerro omin sanoin, mitä oireita sinulla on."
    assert oireet.help.startswith("Voit kirjoittaa vapaasti.")
    assert (oireet.rows, oireet.placeholder) == (5, "Esimerkiksi: kurkkukipua ja kuumetta")
    assert (oireet.min_length, oireet.max_length, oireet.autocomplete) == (1, 2000, "off")
    kesto = fields["kesto_paivia"]
    assert (kesto.minimum, kesto.maximum, kesto.step, kesto.input_mode) == (0, 365, 1, "numeric")
    kipu = fields["kipu"]
    assert (kipu.minimum, kipu.maximum, kipu.input_mode) == (0, 10, "numeric")
    paino = fields["paino_kg"]
    assert (paino.minimum, paino.maximum, paino.step, paino.input_mode) == (20, 300, "any", "decimal")
    assert fields["laakitys"].options == [("true", "Yes"), ("false", "No")]
    assert all(f.value == "" and f.errors == [] for f in fields.values())


def test_hoitajan_arvio_asks_yes_or_no_and_a_message():
    fields = by_name(build(form_file("hoitajan-arvio.json"), form_file("hoitajan-arvio.ui.json")))

    laboratorio, viesti = fields["laboratorio"], fields["viesti_asiakkaalle"]
    assert (laboratorio.widget, laboratorio.required) == ("radio-boolean", True)
    assert [label for _, label in laboratorio.options] == ["Yes", "No"]
    assert laboratorio.help.startswith("Jos valitset kyllä")
    assert (viesti.widget, viesti.rows, viesti.required) == ("textarea", 6, True)


def test_a_form_without_ui_schema_keeps_the_schema_order():
    fields = build(form_file("kuittaus.json"), None)

    assert [(f.name, f.widget, f.required) for f in fields] == [
        ("luettu", "radio-boolean", True), ("palaute", "integer", False)]
    assert (fields[1].minimum, fields[1].maximum) == (1, 5)
    assert [f.widget for f in build(form_file("tulosten-arvio.json"), None)] == ["text"]


def test_order_star_stands_for_the_remaining_properties():
    schema = {"type": "object", "properties": {name: {"type": "string"} for name in "abcde"}}

    assert [f.name for f in build(schema, {"ui:order": ["c", "*", "a"]})] == ["c", "b", "d", "e", "a"]
    assert [f.name for f in build(schema, {"ui:order": ["e", "d"]})] == ["e", "d", "a", "b", "c"]
    assert [f.name for f in build(schema, {"ui:order": ["x", "b", "*"]})] == ["b", "a", "c", "d", "e"]
    assert [f.label for f in build(schema, None)] == ["a", "b", "c", "d", "e"]


# build(): choices, dates, units and bounds


def test_few_options_are_radios_and_many_a_select():
    fields = by_name(build(CHOICES, CHOICES_UI))

    assert fields["vointi"].widget == "radio"
    assert fields["vointi"].options == [("hyva", "Hyvin"), ("kohtalainen", "Kohtalaisesti"), ("huono", "Huonosti")]
    assert fields["kunta"].widget == "select"
    assert fields["kunta"].options[0] == ("091", "091")
    assert fields["tupakka"].widget == "radio"
    assert fields["tupakka"].options == [("0", "En"), ("1", "Satunnaisesti"), ("2", "Päivittäin")]
    assert fields["tupakka"].minimum is None and fields["tupakka"].input_mode is None


def test_ui_widget_chooses_between_radios_and_select():
    ui = {"kunta": {"ui:widget": "radio"}, "vointi": {"ui:widget": "select"}}
    fields = by_name(build(CHOICES, ui))

    assert (fields["kunta"].widget, fields["vointi"].widget) == ("radio", "select")


def test_checkboxes_dates_single_checkbox_units_and_exclusive_bounds():
    fields = by_name(build(CHOICES, CHOICES_UI))

    assert fields["oireet"].widget == "checkboxes"
    assert fields["oireet"].options == [("yska", "Yskä"), ("kuume", "Kuume"), ("nuha", "Nuha")]
    assert fields["suostumus"].widget == "checkbox-boolean"
    assert fields["kaynti"].widget == "date"
    paine = fields["verenpaine"]
    assert (paine.unit, paine.minimum, paine.maximum) == ("mmHg", 0, 300)
    assert paine.exclusive_minimum and paine.exclusive_maximum
    assert paine.describedby == "f-verenpaine-unit"


def test_unit_from_the_schema_and_ui_titles_override():
    schema = {"type": "object", "properties": {"paino": {"type": "number", "title": "Paino", "unit": "kg"}}}
    ui = {"paino": {"ui:title": "Painosi", "ui:description": "Punnitse aamulla.", "ui:autocomplete": "on"}}

    (paino,) = build(schema, ui)

    assert (paino.unit, paino.label, paino.description, paino.autocomplete) == ("kg", "Painosi", "Punnitse aamulla.",
                                                                             "on")
    assert paino.describedby == "f-paino-unit f-paino-description"


# build(): arrays of objects


def test_array_rows_come_from_the_answers_plus_one_empty_entry():
    values = {"paivakirja": [{"ruoka": "Puuro", "maara": 250.5}, {"ruoka": "Kahvi", "kotona": True}]}

    (diary,) = build(DIARY, None, values, {"/paivakirja/1/ruoka": ["Fix this."]})

    assert diary.widget == "array" and len(diary.items) == 3
    first, second, empty = diary.items
    assert [(f.name, f.id, f.pointer, f.entry) for f in first] == [
        ("paivakirja-0-ruoka", "f-paivakirja-0-ruoka", "/paivakirja/0/ruoka", 1),
        ("paivakirja-0-maara", "f-paivakirja-0-maara", "/paivakirja/0/maara", 1),
        ("paivakirja-0-kotona", "f-paivakirja-0-kotona", "/paivakirja/0/kotona", 1)]
    assert [f.value for f in first] == ["Puuro", "250.5", ""]
    assert second[0].errors == ["Fix this."] and second[2].selected == ["true"]
    assert [f.value for f in empty] == ["", "", ""] and empty[0].name == "paivakirja-2-ruoka"
    assert first[0].required and not first[1].required and first[1].unit == "g"


def test_array_rows_respect_min_and_max_items():
    schema = json.loads(json.dumps(DIARY))
    schema["properties"]["paivakirja"].update(minItems=3, maxItems=3)
    two = {"paivakirja": [{"ruoka": "Puuro"}, {"ruoka": "Kahvi"}]}
    three = {"paivakirja": [{"ruoka": "Puuro"}, {"ruoka": "Kahvi"}, {"ruoka": "Leipä"}]}

    assert len(build(schema, None, None, None)[0].items) == 3
    assert len(build(schema, None, two, None)[0].items) == 3
    assert len(build(schema, None, three, None)[0].items) == 3


def test_posted_rows_are_shown_without_the_empty_ones_and_renumbered():
    form = MultiDict([("paivakirja-0-ruoka", ""), ("paivakirja-0-maara", " "), ("paivakirja-1-ruoka", "Puuro"),
                      ("paivakirja-1-maara", "paljon"), ("paivakirja-7-kotona", "false")])

    (diary,) = build(DIARY, None, form, {"/paivakirja/0/maara": ["Enter a number."]})

    assert [[f.value for f in row] for row in diary.items] == [["Puuro", "paljon", ""], ["", "", "false"],
                                                                ["", "", ""]]
    assert diary.items[0][1].errors == ["Enter a number."]


# build(): values shown back


def test_typed_answers_are_shown_in_the_readers_language():
    schema, ui = form_file("esitiedot.json"), form_file("esitiedot.ui.json")
    answers = {"oireet": "Yskä", "kesto_paivia": 3, "kipu": 8, "laakitys": False, "paino_kg": 72.5,
               "pituus_cm": None, "vanha_kysymys": "ei enää lomakkeella"}

    fields = by_name(build(schema, ui, answers))
    with force_locale("fi"):
        finnish = by_name(build(schema, ui, answers))

    assert [fields[n].value for n in ("oireet", "kesto_paivia", "kipu", "paino_kg")] == ["Yskä", "3", "8", "72.5"]
    assert finnish["paino_kg"].value == "72,5"
    assert fields["laakitys"].selected == ["false"] and fields["paino_kg"].selected == []
    assert fields["pituus_cm"].value == "" and "vanha_kysymys" not in fields


def test_what_was_typed_is_kept_from_the_posted_form():
    schema, ui = form_file("esitiedot.json"), form_file("esitiedot.ui.json")
    form = MultiDict([("oireet", "Yskä"), ("kipu", "kova"), ("laakitys", "true")])

    for values in (form, {"oireet": "Yskä", "__raw__": form}):
        fields = by_name(build(schema, ui, values, {"/kipu": ["Enter a whole number between 0 and 10."]}))
        assert (fields["oireet"].value, fields["kipu"].value, fields["laakitys"].selected) == ("Yskä", "kova",
                                                                                               ["true"])
        assert fields["kipu"].errors == ["Enter a whole number between 0 and 10."]
        assert fields["kipu"].describedby == "f-kipu-description f-kipu-help f-kipu-error"


def test_chosen_options_are_selected():
    answers = {"vointi": "huono", "oireet": ["yska", "nuha"], "suostumus": True, "tupakka": 2}

    fields = by_name(build(CHOICES, CHOICES_UI, answers))

    assert fields["vointi"].selected == ["huono"] and fields["vointi"].value == "huono"
    assert fields["oireet"].selected == ["yska", "nuha"]
    assert fields["suostumus"].selected == ["true"]
    assert fields["tupakka"].selected == ["2"]


# parse(): strings to the schema's types


def test_numbers_accept_a_decimal_comma_and_spaces():
    schema = form_file("esitiedot.json")
    form = MultiDict({"oireet": "  Yskä\r\nja kuume  ", "kesto_paivia": " 3 ", "kipu": "8", "paino_kg": "72,5",
                      "pituus_cm": " 172.5 ", "laakitys": "false", "laakkeet": ""})

    answers, errors = parse(schema, form)

    assert errors == {}
    assert answers == {"oireet": "Yskä\nja kuume", "kesto_paivia": 3, "kipu": 8, "paino_kg": 72.5,
                       "pituus_cm": 172.5, "laakitys": False}
    assert type(answers["kesto_paivia"]) is int
    assert validate(schema, answers) == {}


@pytest.mark.parametrize(("typed", "value"), [("72", 72), ("-4,25", -4.25), ("\u22124,5", -4.5), (",5", 0.5),
                                              ("+3.", 3.0)])
def test_numbers_read(typed, value):
    schema = {"type": "object", "properties": {"n": {"type": "number"}}}

    assert parse(schema, MultiDict({"n": typed})) == ({"n": value}, {})


@pytest.mark.parametrize("typed", ["abc", "72,5 kg", "1e3", "nan", "inf", "7 2", "1,2,3", "1" * 400, "--1"])
def test_numbers_that_are_not_numbers_are_told_what_to_enter(typed):
    schema = {"type": "object", "properties": {"n": {"type": "number"}}}

    assert parse(schema, MultiDict({"n": typed})) == ({}, {"/n": ["Enter a number, for example 72.5."]})
    with force_locale("fi"):
        assert parse(schema, MultiDict({"n": typed}))[1] == {"/n": ["Enter a number, for example 72,5."]}


def test_bad_whole_numbers_are_told_the_scale_and_decimals_an_example():
    schema = form_file("esitiedot.json")
    form = MultiDict({"oireet": "Yskä", "kesto_paivia": "3,5", "kipu": "kova", "paino_kg": "paljon"})

    answers, errors = parse(schema, form)

    assert answers == {"oireet": "Yskä"}
    # A range would suggest that the number was too small or big, when it was no number at all.
    assert errors == {"/kesto_paivia": ["Enter a whole number between 0 and 365."],
                      "/kipu": ["Enter a whole number between 0 and 10."],
                      "/paino_kg": ["Enter a number, for example 72.5."]}
    narrow = {"type": "object", "properties": {"n": {"type": "number", "minimum": 1, "maximum": 5}}}
    assert parse(narrow, MultiDict({"n": "x"}))[1] == {"/n": ["Enter a number, for example 3.5."]}
    whole = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}
    assert parse(whole, MultiDict({"n": "1,5"}))[1] == {"/n": ["Enter a whole number."]}


def test_empty_optional_inputs_are_left_out():
    schema = form_file("esitiedot.json")
    form = MultiDict({"oireet": "", "kesto_paivia": "  ", "kipu": "", "laakkeet": "\r\n", "paino_kg": ""})

    assert parse(schema, form) == ({}, {})
    assert parse(schema, MultiDict()) == ({}, {})


def test_booleans_from_radios_and_from_a_checkbox():
    schema = {"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "boolean"},
                                               "c": {"type": "boolean"}, "d": {"type": "boolean"}}}
    # a and b: radios; c and d: a checkbox after its hidden empty value; d ticked
    form = MultiDict([("a", "true"), ("b", "false"), ("c", ""), ("d", ""), ("d", "true")])

    assert parse(schema, form) == ({"a": True, "b": False, "c": False, "d": True}, {})
    assert parse(schema, MultiDict()) == ({}, {})
    assert parse(schema, MultiDict({"a": "on"})) == ({"a": True}, {})
    assert parse(schema, MultiDict({"a": "maybe"})) == ({}, {"/a": ["Choose one of the options."]})


def test_enums_keep_only_allowed_values_with_their_types():
    form = MultiDict([("vointi", "huono"), ("kunta", "999"), ("tupakka", "2"), ("oireet", "yska"),
                      ("oireet", "nuha")])

    answers, errors = parse(CHOICES, form)

    assert answers == {"vointi": "huono", "tupakka": 2, "oireet": ["yska", "nuha"]}
    assert errors == {"/kunta": ["Choose one of the options."]}
    assert parse(CHOICES, MultiDict({"tupakka": "3"}))[1] == {"/tupakka": ["Choose one of the options."]}
    assert parse(CHOICES, MultiDict([("oireet", "yska"), ("oireet", "kutina")]))[1] == {
        "/oireet": ["Choose one of the options."]}


def test_checkboxes_none_ticked_are_left_out():
    assert parse(CHOICES, MultiDict([("oireet", "")])) == ({}, {})


@pytest.mark.parametrize(("typed", "day"), [("2026-12-31", "2026-12-31"), ("31.12.2026", "2026-12-31"),
                                            (" 1.2.2026 ", "2026-02-01")])
def test_dates_are_kept_as_iso_strings(typed, day):
    assert parse(CHOICES, MultiDict({"kaynti": typed})) == ({"kaynti": day}, {})


@pytest.mark.parametrize("typed", ["31.02.2026", "2026-13-01", "huomenna", "12/31/2026"])
def test_dates_that_are_not_dates(typed):
    assert parse(CHOICES, MultiDict({"kaynti": typed})) == ({}, {"/kaynti": ["Enter a date, for example 31.12.2026."]})


def test_array_rows_are_read_by_index_and_empty_rows_dropped():
    form = MultiDict([("paivakirja-0-ruoka", " "), ("paivakirja-0-maara", ""), ("paivakirja-0-kotona", ""),
                      ("paivakirja-1-ruoka", "Puuro"), ("paivakirja-1-maara", "250,5"), ("paivakirja-1-kotona", ""),
                      ("paivakirja-1-kotona", "true"), ("paivakirja-2-ruoka", "Kahvi"),
                      ("paivakirja-3-ruoka", ""), ("paivakirja-3-maara", "paljon"), ("paivakirja-x-ruoka", "Leipä"),
                      ("paivakirja-4-muu", "Leipä")])

    answers, errors = parse(DIARY, form)

    assert answers == {"paivakirja": [{"ruoka": "Puuro", "maara": 250.5, "kotona": True}, {"ruoka": "Kahvi"}, {}]}
    assert errors == {"/paivakirja/2/maara": ["Enter a number, for example 72.5."]}
    assert validate(DIARY, answers) == {"/paivakirja/2/ruoka": ["This field is required."]}


def test_no_rows_no_array():
    form = MultiDict([("paivakirja-0-ruoka", ""), ("paivakirja-0-kotona", "")])

    assert parse(DIARY, form) == ({}, {})


# validate() and messages(): plain language by field


def test_missing_answers_are_named_at_the_field_not_the_form():
    errors = validate(form_file("esitiedot.json"), {})

    assert errors == {"/oireet": ["This field is required."], "/kesto_paivia": ["This field is required."],
                      "/kipu": ["This field is required."]}
    assert set(errors) == {e["field"] for e in field_errors(form_file("esitiedot.json"), {})}


def test_a_missing_choice_asks_to_choose():
    errors = validate(form_file("hoitajan-arvio.json"), {"viesti_asiakkaalle": ""})

    assert errors == {"/laboratorio": ["Choose one of the options."],
                      "/viesti_asiakkaalle": ["This field is required."]}
    assert validate(CHOICES, {})["/vointi"] == ["Choose one of the options."]


def test_numbers_out_of_range_and_of_the_wrong_type():
    schema = form_file("esitiedot.json")
    answers = {"oireet": "Yskä", "kesto_paivia": -1, "kipu": "kova", "paino_kg": 500}

    assert validate(schema, answers) == {"/kesto_paivia": ["Enter a whole number between 0 and 365."],
                                         "/kipu": ["Enter a whole number between 0 and 10."],
                                         "/paino_kg": ["Enter a number between 20 and 300."]}
    assert validate(schema, {**answers, "kipu": 10.5})["/kipu"] == ["Enter a whole number between 0 and 10."]


@pytest.mark.parametrize(("bounds", "value", "message"), [
    ({"minimum": 1}, 0, "Enter a number that is 1 or more."),
    ({"maximum": 9.5}, 10, "Enter a number that is 9.5 or less."),
    ({"exclusiveMinimum": 0}, 0, "Enter a number greater than 0."),
    ({"exclusiveMaximum": 300}, 300, "Enter a number less than 300."),
    ({"minimum": 0, "exclusiveMaximum": 300}, 300, "Enter a number less than 300."),
    ({"minimum": 0, "exclusiveMaximum": 300}, -1, "Enter a number that is 0 or more."),
])
def test_one_sided_and_exclusive_bounds(bounds, value, message):
    schema = {"type": "object", "properties": {"n": {"type": "number", **bounds}}}

    assert validate(schema, {"n": value}) == {"/n": [message]}


def test_numbers_in_messages_are_written_the_finnish_way():
    schema = {"type": "object", "properties": {"n": {"type": "number", "minimum": 0.5, "maximum": 1000}}}

    with force_locale("fi"):
        assert validate(schema, {"n": 0}) == {"/n": ["Enter a number between 0,5 and 1\xa0000."]}


def test_lengths_choices_and_dates():
    schema = {"type": "object", "properties": {
        "nimi": {"type": "string", "minLength": 3, "maxLength": 5},
        "kirjain": {"type": "string", "maxLength": 1},
        "tyhja": {"type": "string", "minLength": 1},
        "vointi": CHOICES["properties"]["vointi"],
        "tupakka": CHOICES["properties"]["tupakka"],
        "kaynti": CHOICES["properties"]["kaynti"],
    }}

    assert validate(schema, {"nimi": "Al", "kirjain": "ab", "tyhja": "", "vointi": "mainio", "tupakka": 7,
                             "kaynti": "2026-02-30"}) == {
        "/nimi": ["Write at least 3 characters."], "/kirjain": ["Write at most 1 character."],
        "/tyhja": ["This field is required."], "/vointi": ["Choose one of the options."],
        "/tupakka": ["Choose one of the options."], "/kaynti": ["Enter a date, for example 31.12.2026."]}
    assert validate(schema, {"nimi": "Aleksanteri"}) == {"/nimi": ["Write at most 5 characters."]}
    assert validate(form_file("esitiedot.json"), {"oireet": "x" * 2001, "kesto_paivia": 1, "kipu": 1}) == {
        "/oireet": ["Write at most 2000 characters."]}


def test_errors_inside_array_rows_point_at_the_row_field():
    answers = {"paivakirja": [{"ruoka": "Puuro"}, {"maara": -1}]}

    assert validate(DIARY, answers) == {"/paivakirja/1/ruoka": ["This field is required."],
                                        "/paivakirja/1/maara": ["Enter a number that is 0 or more."]}


def test_messages_for_the_projects_own_validation_errors():
    errors = field_errors(form_file("esitiedot.json"), {"oireet": "Yskä", "kipu": 12, "extra": 1})

    found = messages(errors)

    assert found["/kesto_paivia"] == ["This field is required."]
    assert found["/kipu"] == ["Check this answer."]
    assert found["/"] == ["Check this answer."]  # the form as a whole, as orchestrator.forms names it
    assert messages([]) == {}


def test_messages_with_the_error_kind():
    errors = [{"field": "/kipu", "message": "12 is greater than the maximum of 10", "validator": "maximum",
               "validator_value": 10, "schema": form_file("esitiedot.json")["properties"]["kipu"]},
              {"field": "/kipu", "message": "again", "validator": "maximum", "validator_value": 10,
               "schema": form_file("esitiedot.json")["properties"]["kipu"]},
              {"field": "/x", "message": "does not match", "validator": "pattern", "validator_value": "^a"}]

    assert messages(errors) == {"/kipu": ["Enter a whole number between 0 and 10."], "/x": ["Check this answer."]}


# the macros' HTML


def check_wiring(page: lxml.html.HtmlElement) -> None:
    """Ids are unique, every control has a label, and every reference points at something."""
    ids = [e.get("id") for e in page.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    for label in page.iter("label"):
        assert label.get("for") in ids
    controls = [e for e in page.iter("input", "select", "textarea") if e.get("type") != "hidden"]
    labelled = {label.get("for") for label in page.iter("label")}
    assert controls and all(c.get("id") in labelled for c in controls)
    for element in page.xpath("//*[@aria-describedby]"):
        assert element.get("aria-describedby").split() and set(element.get("aria-describedby").split()) <= set(ids)
    assert not page.xpath("//*[@style]")


def test_a_clean_form_is_wired_up_and_has_no_error_summary():
    page = render(build(form_file("esitiedot.json"), form_file("esitiedot.ui.json")))

    check_wiring(page)
    assert not page.xpath("//*[contains(@class, 'error-summary')]") and not page.xpath("//*[@aria-invalid]")
    assert text(page.get_element_by_id("f-oireet").getparent().find("label")) == "Mitä oireita sinulla on? (required)"
    assert text(page.xpath("//label[@for='f-paino_kg']")[0]) == "Paino"
    description = page.get_element_by_id("f-oireet-description")
    assert description.get("class") == "hint" and description.text.startswith("Kerro omin sanoin")
    oireet = page.get_element_by_id("f-oireet")
    assert (oireet.tag, oireet.get("rows"), oireet.get("autocomplete")) == ("textarea", "5", "off")


def test_numbers_are_text_inputs_with_a_numeric_keyboard():
    page = render(build(form_file("esitiedot.json"), form_file("esitiedot.ui.json")))

    for name, mode in (("kesto_paivia", "numeric"), ("kipu", "numeric"), ("paino_kg", "decimal")):
        element = page.get_element_by_id(f"f-{name}")
        assert (element.get("type"), element.get("inputmode")) == ("text", mode)
    assert not page.xpath("//input[@type='range' or @type='number']")


def test_radios_are_a_fieldset_with_a_legend():
    page = render(build(form_file("hoitajan-arvio.json"), form_file("hoitajan-arvio.ui.json")))

    check_wiring(page)
    (fieldset,) = page.xpath("//fieldset[.//input[@name='laboratorio']]")
    assert text(fieldset.find("legend")) == "Tarvitaanko laboratoriokokeita ennen vastaanottoa? (required)"
    radios = fieldset.xpath(".//input[@type='radio']")
    assert [r.get("value") for r in radios] == ["true", "false"] and radios[0].get("id") == "f-laboratorio"
    assert [text(page.xpath(f"//label[@for='{r.get('id')}']")[0]) for r in radios] == ["Yes", "No"]
    assert fieldset.get("aria-describedby") == "f-laboratorio-help"


def test_errors_are_beside_each_field_and_summarised_with_links():
    schema, ui = form_file("esitiedot.json"), form_file("esitiedot.ui.json")
    form = MultiDict({"oireet": "Yskä", "kesto_paivia": "kolme", "paino_kg": "72,5"})
    answers, errors = parse(schema, form)
    errors = {**validate(schema, answers), **errors}

    page = render(build(schema, ui, form, errors))

    check_wiring(page)
    (summary,) = page.xpath("//*[contains(@class, 'error-summary')]")
    assert summary.get("tabindex") == "-1" and summary.get("aria-labelledby") == "error-summary-title"
    assert text(page.get_element_by_id("error-summary-title")) == "There is a problem"
    links = summary.xpath(".//a")
    assert [a.get("href") for a in links] == ["#f-kesto_paivia", "#f-kipu"]
    assert text(links[1]) == "Kuinka voimakasta kipu on asteikolla 0–10? This field is required."  # no "?:"
    kesto = page.get_element_by_id("f-kesto_paivia")
    assert kesto.get("aria-invalid") == "true" and kesto.get("value") == "kolme"
    assert "f-kesto_paivia-error" in kesto.get("aria-describedby").split()
    message = page.get_element_by_id("f-kesto_paivia-error")
    assert text(message) == "Error: Enter a whole number between 0 and 365."
    assert message.getnext() is kesto, "the error stands above the input"
    assert "field--error" in kesto.getparent().get("class").split()
    assert page.get_element_by_id("f-paino_kg").get("value") == "72,5"
    assert page.get_element_by_id("f-paino_kg").get("aria-invalid") is None


def test_choice_errors_mark_the_group_and_link_to_its_first_option():
    errors = validate(CHOICES, {"oireet": []}) | {"/oireet": ["Choose one of the options."]}

    page = render(build(CHOICES, CHOICES_UI, None, errors))

    check_wiring(page)
    (radios,) = page.xpath("//fieldset[.//input[@name='vointi']]")
    assert radios.get("role") == "radiogroup" and radios.get("aria-invalid") == "true"
    assert "f-vointi-error" in radios.get("aria-describedby").split()
    boxes = page.xpath("//input[@name='oireet']")
    assert all(b.get("aria-invalid") == "true" for b in boxes)
    hrefs = [a.get("href") for a in page.xpath("//*[@id='error-summary']//a")]
    assert hrefs == ["#f-vointi", "#f-kunta", "#f-oireet"]
    assert all(page.get_element_by_id(h[1:]).tag in ("input", "select") for h in hrefs)
    select = page.get_element_by_id("f-kunta")
    assert select.tag == "select" and select.get("aria-invalid") == "true"
    assert [o.get("value") for o in select.iter("option")][:2] == ["", "091"]


def test_units_are_visible_and_part_of_the_description():
    page = render(build(CHOICES, CHOICES_UI))

    unit = page.get_element_by_id("f-verenpaine-unit")
    assert (unit.get("class"), text(unit)) == ("unit", "mmHg")
    assert page.get_element_by_id("f-verenpaine").get("aria-describedby") == "f-verenpaine-unit"


def test_array_entries_are_fieldsets_named_entry_one_two():
    values = {"paivakirja": [{"ruoka": "Puuro", "maara": 250}]}
    errors = {"/paivakirja/0/maara": ["Enter a number that is 0 or more."]}

    page = render(build(DIARY, None, values, errors))

    check_wiring(page)
    entries = page.xpath("//fieldset[@class='entry']")
    assert [text(e.find("legend")) for e in entries] == ["Entry 1", "Entry 2"]
    assert text(page.xpath("//fieldset[@id='f-paivakirja']/legend")[0]) == "Ruokapäiväkirja"
    assert entries[0].xpath(".//input[@name='paivakirja-0-ruoka']")[0].get("value") == "Puuro"
    assert entries[1].xpath(".//input[@name='paivakirja-1-ruoka']")[0].get("value") == ""
    (link,) = page.xpath("//*[@id='error-summary']//a")
    assert link.get("href") == "#f-paivakirja-0-maara"
    assert text(link) == "Entry 1, Määrä: Enter a number that is 0 or more."


def test_values_survive_a_round_trip_through_the_page():
    answers = {"vointi": "kohtalainen", "kunta": "853", "tupakka": 0, "oireet": ["kuume", "nuha"],
               "suostumus": False, "kaynti": "2026-03-01", "verenpaine": 128}

    page = render(build(CHOICES, CHOICES_UI, answers))

    assert page.get_element_by_id("f-kaynti").get("type") == "date"
    assert parse(CHOICES, submitted(page)) == (answers, {})
    with force_locale("fi"):
        diary = {"paivakirja": [{"ruoka": "Puuro", "maara": 250.5, "kotona": True}, {"ruoka": "Kahvi"}]}
        page = render(build(DIARY, None, diary))
        assert page.get_element_by_id("f-paivakirja-0-maara").get("value") == "250,5"
        assert parse(DIARY, submitted(page)) == (diary, {})


def test_a_single_checkbox_posts_false_when_unticked():
    page = render(build(CHOICES, CHOICES_UI, {"suostumus": True}))

    box = page.get_element_by_id("f-suostumus")
    assert box.get("type") == "checkbox" and box.get("checked") is not None
    hidden = box.getprevious()
    assert (hidden.get("type"), hidden.get("name"), hidden.get("value")) == ("hidden", "suostumus", "")
    assert parse(CHOICES, submitted(page))[0]["suostumus"] is True
    box.attrib.pop("checked")
    assert parse(CHOICES, submitted(page))[0]["suostumus"] is False


def test_posted_text_is_escaped():
    schema = {"type": "object", "properties": {"t": {"type": "string", "title": "<b>Otsikko</b>"}}}

    page = render(build(schema, None, MultiDict({"t": '"><script>alert(1)</script>'}), {"/t": ["<i>x</i>"]}))

    assert not page.xpath("//script | //b | //i")
    assert page.get_element_by_id("f-t").get("value") == '"><script>alert(1)</script>'
