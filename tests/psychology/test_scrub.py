"""The free-text scrubber (qi_equity.psychology.scrub), tested with planted identifiers."""

import pytest

from qi_equity.psychology.scrub import has_identifier, scrub

PLANTED = [
    ("Email me at jo.bloggs+nhs@example.co.uk please", "Email me at [e-mail] please"),
    ("my NHS number is 943 476 5919.", "my NHS number is [NHS number]."),
    ("NHS no 9434765919", "NHS no [NHS number]"),
    ("ref 943-476-5919", "ref [NHS number]"),
    ("ring 07700 900123 after six", "ring [phone] after six"),
    ("call (0113) 496 0000 or +44 113 496 0000", "call [phone] or [phone]"),
    ("+44 (0)20 7946 0958", "[phone]"),
    ("I live at LS6 2AB near the park", "I live at [postcode] near the park"),
    ("postcode sw1a1aa", "postcode [postcode]"),
    ("Dr Patel was lovely", "Dr [name] was lovely"),
    ("Mrs. Ann Smith booked it", "Mrs [name] booked it"),
    ("My name is Grace Okafor and I care for my mum", "My name is [name] and I care for my mum"),
    ("my son Tom has autism", "my son [name] has autism"),
]


@pytest.mark.parametrize("text, clean", PLANTED)
def test_each_kind_of_identifier_is_replaced(text, clean):
    assert scrub(text) == clean
    assert not has_identifier(scrub(text))


def test_ordinary_words_and_numbers_are_left_alone():
    text = "The bus takes 45 minutes from LS6, and the 2 pm clinic on 12/03 is too early. North Weald is far."
    assert scrub(text) == text and not has_identifier(text)


def test_listed_names_are_replaced_whatever_their_case():
    assert scrub("Ask for sue at reception, SUE is kind", names=["Sue"]) == "Ask for [name] at reception, [name] is kind"


def test_every_planted_identifier_is_detected_before_scrubbing():
    for text, _ in PLANTED[:9]:
        assert has_identifier(text), text
