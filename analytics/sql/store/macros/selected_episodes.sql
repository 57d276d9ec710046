-- Episodes visible at as_of, narrowed by the user's filters and by the site scope.
-- Why a macro: the episode selection (as_of cut, filters, site scope) must be
-- identical in every metric; writing it once makes that true by construction.
-- It reads the cursor's variables (queries.bind_filters), so concurrent sessions
-- with different filters never see each other's values.
-- A discharge after as_of is not known yet on that date, so it reads as active.
CREATE OR REPLACE MACRO main.selected_episodes() AS TABLE
SELECT
    e.episode_id, e.patient_id, e.site, e.program, e.admit_date, e.planned_weeks, e.extra,
    CASE WHEN e.discharge_date <= getvariable('as_of') THEN e.discharge_date END AS discharge_date,
    CASE WHEN e.discharge_date <= getvariable('as_of') THEN e.discharge_reason END AS discharge_reason,
    getvariable('as_of') AS as_of
FROM main.enrollments AS e
WHERE e.admit_date <= getvariable('as_of')
  AND (getvariable('admitted_from') IS NULL OR e.admit_date >= getvariable('admitted_from'))
  AND (getvariable('admitted_to') IS NULL OR e.admit_date <= getvariable('admitted_to'))
  AND (len(getvariable('sites')) = 0 OR list_contains(getvariable('sites'), e.site))
  AND (len(getvariable('programs')) = 0 OR list_contains(getvariable('programs'), e.program))
  AND (getvariable('allowed_sites') IS NULL OR list_contains(getvariable('allowed_sites'), e.site))
  -- a filtered column no enrollment holds (only referrals do) selects no episode
  AND NOT coalesce(getvariable('extra_unheld'), false)
  -- every filtered extra column must match one of the values given for it (with no such
  -- filter the first test settles it while planning, so `extra` is not read)
  AND (len(getvariable('extra_columns')) = 0 OR len(list_filter(getvariable('extra_columns'),
        c -> NOT list_contains(getvariable('extra_pairs'), c || '=' || coalesce(e.extra[c], '')))) = 0)
