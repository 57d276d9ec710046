"""The Data page's upload in a real browser: assessment scores as CSV and as FHIR ndjson.

The dashboard runs against a copy of the sample store, without login (local mode acts
as a director, who may import). The files are made from one of the sample's patients, then uploaded
through the file chooser and imported; the store is read afterwards.

Chromium missing: skipped locally, a failure under CI=true (the `chromium` fixture).
"""
from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest

from analytics.store import Store
from browser_support import launch_chromium, running_dashboard, wait_for_app
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_data_page_imports_scores_as_csv_and_as_fhir_ndjson(chromium, sample_store_path, tmp_path):
    from playwright.sync_api import sync_playwright

    store_path = tmp_path / "sample.duckdb"
    shutil.copy(sample_store_path, store_path)
    store = Store(str(store_path))
    with store.read() as cur:  # a patient with one episode, so the FHIR score has one episode to go to
        episode, patient, admit = cur.execute(
            "SELECT any_value(episode_id), patient_id, any_value(admit_date) FROM enrollments "
            "GROUP BY patient_id HAVING count(*) = 1 ORDER BY patient_id LIMIT 1").fetchone()
    store.close()
    scores = tmp_path / "scores.csv"
    scores.write_text(f"assessment_id,episode_id,assessment_date,instrument,score\nUP1,{episode},{admit},PHQ9,7\n"
                      f"UP2,{episode},{admit},phq9,70\n")
    observation = {"resourceType": "Observation", "id": "UP3", "status": "final",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "70274-6"}]},
                   "subject": {"reference": f"Patient/{patient}"},
                   "effectiveDateTime": f"{admit + timedelta(days=1)}T10:00:00-05:00", "valueInteger": 6}
    fhir = tmp_path / "Observation.ndjson"
    fhir.write_text(json.dumps(observation) + "\n" + json.dumps({"resourceType": "Patient", "id": patient}) + "\n")

    artifacts = REPO_ROOT / "tests" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    # after an import the store no longer holds only the sample, which needs a login or this
    with running_dashboard(store_path, env={"IOP_ALLOW_ANONYMOUS": "1"},
                           log_path=artifacts / "dashboard-import-server.log") as url, sync_playwright() as p:
        browser = launch_chromium(p, chromium)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(90_000)
        page.goto(f"{url}/data")
        wait_for_app(page, heading="Data")
        assert page.get_by_text("FHIR Bulk Data").count() >= 1  # the caption names the kinds
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(scores), str(fhir)])
        page.get_by_text("Observation.ndjson").first.wait_for()  # both files accepted by the chooser
        assert page.get_by_text("scores.csv").count() >= 1
        page.get_by_role("button", name="Import").click()
        page.get_by_text("Import finished. The figures on every page now include it.").wait_for()
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()

    store = Store(str(store_path))
    with store.read() as cur:
        loaded = cur.execute("SELECT assessment_id, episode_id, instrument, score FROM assessments "
                             "WHERE assessment_id LIKE 'UP%' ORDER BY 1").fetchall()
        log = cur.execute("SELECT file, kind, rows, inserted, rejected, message FROM import_log "
                          "WHERE file IN ('scores.csv', 'Observation.ndjson') ORDER BY file").fetchall()
    store.close()
    assert loaded == [("UP1", episode, "phq9", 7), ("UP3", episode, "gad7", 6)]
    assert log == [("Observation.ndjson", "assessments", 2, 1, 0,
                    "1 resource of other types skipped; 0 stored rows removed (entered in error)"),
                   ("scores.csv", "assessments", 2, 1, 1, None)]
