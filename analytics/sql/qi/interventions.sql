-- Interventions to mark on control charts, as seen through the cursor's filters.
-- An intervention recorded for one site or program shows only where that site
-- or program is in view (and in the user's site scope); one recorded for all
-- (NULL) shows everywhere. Dates are not cut at as_of: an intervention recorded
-- today must be listed at once; a chart draws only those inside its own range.
SELECT intervention_id, on_date, title, note, site, program, recorded_by, recorded_at
FROM main.interventions
WHERE (site IS NULL
       OR ((len(getvariable('sites')) = 0 OR list_contains(getvariable('sites'), site))
           AND (getvariable('allowed_sites') IS NULL OR list_contains(getvariable('allowed_sites'), site))))
  AND (program IS NULL
       OR len(getvariable('programs')) = 0 OR list_contains(getvariable('programs'), program))
ORDER BY on_date, intervention_id
