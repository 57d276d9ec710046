"""Synthetic IOP exports: a deterministic generator and the small committed sample.

The committed sample is exactly the output of
``python -m sample_data.generate --episodes 400 --seed 1 --out sample_data --full``
(see docs/sample-data.md): enrollments (with first_contact_date), sessions,
assessments and referrals. tests/test_generate.py checks that it still is.
"""
from __future__ import annotations

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent
SAMPLE_ENROLLMENTS = SAMPLE_DIR / "enrollments.csv"
SAMPLE_SESSIONS = SAMPLE_DIR / "sessions.csv"
SAMPLE_ASSESSMENTS = SAMPLE_DIR / "assessments.csv"
SAMPLE_REFERRALS = SAMPLE_DIR / "referrals.csv"
SAMPLE_FILES = (SAMPLE_ENROLLMENTS, SAMPLE_SESSIONS, SAMPLE_ASSESSMENTS, SAMPLE_REFERRALS)
# The arguments that produced the committed sample.
SAMPLE_EPISODES = 400
SAMPLE_SEED = 1
SAMPLE_OPTIONS = ("--full",)
