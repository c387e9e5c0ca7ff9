"""A questionnaire defined once (qi_equity.psychology.questionnaire)."""

import re

import pytest
import yaml

from qi_equity.psychology import barrier_taxonomy
from qi_equity.psychology.questionnaire import (QuestionnaireError, built_in_demographics, load_questionnaire,
                                                parse_questionnaire)


def test_the_default_questionnaire_asks_every_kind_of_question_and_the_equity_demographics():
    q = load_questionnaire("default")
    assert {x.type for x in q.main} == {"single", "multiple", "likert", "number", "text"}
    assert [x.id for x in q.demographics] == ["age_band", "sex", "ethnic_category", "disability", "caring",
                                               "working_pattern", "contact_times", "contact_channels"]
    assert q.consent_text and q.consent_question
    # the barrier question's codes are the barrier taxonomy's, so answers count as themes
    frame = set(barrier_taxonomy()["code"])
    assert set(q.question("barriers").codes) - {"none"} <= frame
    # demographic codes are the kit's equity groups (age bands as the contract's; NHS ethnic codes)
    assert q.question("age_band").codes[:6] == ["0-15", "16-29", "30-44", "45-64", "65-74", "75+"]
    assert q.question("ethnic_category").codes == list("ABCDEFGHJKLMNPRS") + ["Z"]
    assert q.question("easy_to_rebook").labels[0] == "Strongly agree"


def test_the_easy_read_version_is_short_and_plain():
    q = load_questionnaire("easy_read")
    assert q.easy_read and len(q.main) <= 5
    sentences = [s for x in q.main for s in re.split(r"[.?!]\s*", x.text) if s]
    assert max(len(s.split()) for s in sentences) <= 10             # short sentences, one idea each
    assert q.question("easy_to_rebook").labels == ["Yes", "Not sure", "No"]


def _spec(**change):
    spec = {"id": "mine", "title": "Our clinic", "consent": {"text": "Anonymous.", "question": "I agree."},
            "questions": [{"id": "q1", "type": "single", "text": "Did you come?",
                           "options": [{"code": "y", "label": "Yes"}, {"code": "n", "label": "No"}]}]}
    spec.update(change)
    return spec


@pytest.mark.parametrize("change, words", [
    ({"questions": [{"id": "q1", "type": "scale", "text": "x"}]}, ["question 1 ('q1')", "key 'type'", "'scale'"]),
    ({"questions": [{"id": "1q", "type": "text", "text": "x"}]}, ["question 1", "key 'id'", "start with a letter"]),
    ({"questions": [{"id": "q", "type": "single", "text": "x", "options": [{"code": "a", "label": "A"}]}]},
     ["key 'options'", "at least two"]),
    ({"questions": [{"id": "q", "type": "multiple", "text": "x",
                     "options": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]}]}, ["repeated: a"]),
    ({"questions": [{"id": "q", "type": "single", "text": "x",
                     "options": [{"code": "a", "label": "Cost (travel", "lost pay": None}, {"code": "b", "label": "B"}]}]},
     ["option 1", "needs quotes"]),
    ({"questions": [{"id": "q", "type": "number", "text": "x", "min": 5, "max": 1}]}, ["min must be below max"]),
    ({"questions": [{"id": "q", "type": "multiple", "text": "x", "coding_frame": "barriers",
                     "options": [{"code": "transport", "label": "A"}, {"code": "parking", "label": "B"}]}]},
     ["not in the 'barriers' coding frame: parking"]),
    ({"consent": {"text": "x"}}, ["key 'consent'", "'question'"]),
    ({"demographics": ["age_band", "shoe_size"]}, ["demographic 2", "'shoe_size'"]),
    ({"demographics": ["sex"], "questions": [{"id": "sex", "type": "text", "text": "x"}]}, ["repeated: sex"]),
    ({"questions": [{"id": "q", "type": "text", "text": "x", "colour": "red"}]}, ["unknown key(s) colour"]),
])
def test_a_bad_questionnaire_names_the_question_the_key_and_the_rule(tmp_path, change, words):
    f = tmp_path / "ours.yaml"
    f.write_text(yaml.safe_dump(_spec(**change)))
    with pytest.raises(QuestionnaireError) as e:
        load_questionnaire(f)
    msg = str(e.value)
    assert msg.startswith("questionnaire ours.yaml:")
    for w in words:
        assert w in msg, (w, msg)


def test_a_custom_questionnaire_with_its_own_demographic_question():
    q = parse_questionnaire(_spec(demographics=["age_band", {"id": "area", "type": "single", "text": "Where?",
                                                             "options": [{"code": "n", "label": "North"},
                                                                         {"code": "s", "label": "South"}]}]))
    assert [x.id for x in q.demographics] == ["age_band", "area"] and q.question("area").section == "demographics"


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_questionnaire(tmp_path / "none.yaml")
    f = tmp_path / "broken.yaml"
    f.write_text("id: x\ntitle: [unclosed\n")
    with pytest.raises(QuestionnaireError, match="not valid YAML"):
        load_questionnaire(f)


def test_every_built_in_demographic_question_is_valid():
    names = list(built_in_demographics())
    q = parse_questionnaire(_spec(demographics=names))
    assert len(q.demographics) == len(names)
