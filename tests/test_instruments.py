"""Instrument definitions: the built-in config, a site's additions, and the store's copy."""
from __future__ import annotations

from fractions import Fraction

import pytest

from analytics.instruments import Coding, InstrumentError, configured_instruments, parse_instrument
from analytics.store.instruments import instruments_in_force, stored_instruments, write_instruments

ISSUE_TABLE = {  # name: (range, higher is better, caseness, reliable change, remission, response, every)
    "phq9": ((0, 27), False, 10, 6, 5, Fraction(1, 2), 14),
    "gad7": ((0, 21), False, 8, 4, 5, None, 14),
    "bam_use": ((0, 12), False, None, None, 1, None, 30),
    "bam_risk": ((0, 24), False, None, None, None, None, 30),
    "bam_protective": ((0, 24), True, None, None, None, None, 30),
    "uds": ((0, 1), False, None, None, None, None, 7),
}


def test_the_built_in_instruments_are_the_published_ones():
    got = {i.name: ((i.min_score, i.max_score), i.higher_is_better, i.caseness, i.reliable_change,
                    i.remission_below, i.response_drop, i.every_days) for i in configured_instruments()}
    assert got == ISSUE_TABLE
    codes = {i.name: i.codes for i in configured_instruments()}
    assert Coding("http://loinc.org", "44261-6") in codes["phq9"]
    assert Coding("http://loinc.org", "70274-6") in codes["gad7"]


def test_a_site_file_adds_and_overrides_instruments(tmp_path, monkeypatch):
    site = tmp_path / "site.toml"
    site.write_text('[instruments.audit_c]\nlabel = "AUDIT-C"\nmin = 0\nmax = 12\nhigher_is = "worse"\n'
                    'caseness = 4\nevery_days = 30\nprograms = ["Adult IOP"]\n'
                    '[instruments.uds]\nlabel = "Drug screen"\nmin = 0\nmax = 1\nhigher_is = "worse"\nevery_days = 3\n')
    monkeypatch.setenv("IOP_INSTRUMENTS", str(site))
    found = {i.name: i for i in configured_instruments()}
    assert found["audit_c"].programs == ("Adult IOP",) and found["audit_c"].in_clinical_range(4)
    assert found["uds"].every_days == 3 and len(found) == 7


@pytest.mark.parametrize("entry, problem", [
    ({"label": "x", "min": 0, "max": 10, "higher_is": "worse"}, "every_days is required"),
    ({"label": "x", "min": 5, "max": 5, "higher_is": "worse", "every_days": 7}, "min must be below max"),
    ({"label": "x", "min": 0, "max": 9, "higher_is": "up", "every_days": 7}, "higher_is must be"),
    ({"label": "x", "min": 0, "max": 9, "higher_is": "worse", "every_days": 7, "response_drop": 1.5},
     "response_drop must be"),
    ({"label": "x", "min": 0, "max": 9.5, "higher_is": "worse", "every_days": 7}, "max must be a whole number"),
    ({"label": "x", "min": 0, "max": 9, "higher_is": "worse", "every_days": 7, "colour": "red"}, "unknown key"),
])
def test_a_bad_entry_is_refused_naming_the_file_entry_and_key(entry, problem):
    with pytest.raises(InstrumentError, match=problem) as refused:
        parse_instrument("thing", entry, "site.toml")
    assert "site.toml: instruments.thing" in str(refused.value)


def test_the_store_scores_with_what_the_last_import_wrote(store):
    with store.read() as cur:  # nothing written yet: the configured definitions
        assert stored_instruments(cur) == () and instruments_in_force(cur) == configured_instruments()
    changed = parse_instrument("phq9", {"label": "PHQ-9", "min": 0, "max": 27, "higher_is": "worse",
                                        "caseness": 12, "every_days": 28})
    with store.write() as cur:
        assert write_instruments(cur, (changed,), batch_id=3)
        assert not write_instruments(cur, (changed,), batch_id=4)  # unchanged: not rewritten
    with store.read() as cur:
        assert instruments_in_force(cur) == (changed,)
