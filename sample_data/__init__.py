"""Synthetic IOP exports: a deterministic generator and the small committed sample.

The committed sample is exactly the output of
``python -m sample_data.generate --episodes 400 --seed 1 --out sample_data``
(see docs/sample-data.md); tests/test_generate.py checks that it still is.
"""
from __future__ import annotations

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent
SAMPLE_ENROLLMENTS = SAMPLE_DIR / "enrollments.csv"
SAMPLE_SESSIONS = SAMPLE_DIR / "sessions.csv"
# The arguments that produced the committed sample.
SAMPLE_EPISODES = 400
SAMPLE_SEED = 1
