-- Complete episode-weeks of the selected episodes, counted by attended minutes.
-- This file is the head of a CTE chain: dose.py appends one of the dose_*.sql
-- queries to it, so the week rules are written here only.
--
-- Week k of an episode covers admit_date + 7(k-1) .. admit_date + 7k - 1, and it
-- counts once its last day is <= min(discharge_date, as_of). Its minutes are the
-- attended minutes in it; a complete week without attended sessions has 0.
--
-- Why counts instead of one row per episode-week: at 10 M sessions there are
-- about 3 M episode-weeks, and joining them to the sessions costs more than the
-- rest of the metrics together. Here only weeks that had attended sessions are
-- formed (one GROUP BY over sessions); the weeks without any are counted, not
-- listed: per week number, the episodes that reached it minus those with minutes
-- in it. `week_counts` then holds, per group, target, week number and minutes,
-- how many episode-weeks had exactly that many attended minutes. Quantiles and
-- shares computed from it equal those over the rows it stands for.
--
-- `grp` is the breakdown value of an episode: the /*dimension*/ placeholder is
-- replaced by a constant expression from analytics/breakdowns.py ('all' for
-- the whole selection). Column names there must stay unambiguous, hence
-- `target_program`.
WITH targets AS (
    -- weekly targets per program from config/iop.toml, bound as two lists
    SELECT
        unnest($target_programs::VARCHAR[]) AS target_program,
        unnest($target_hours::DOUBLE[]) * 60 AS target_minutes
),
episodes AS MATERIALIZED (
    -- each selected episode's number of complete weeks; discharge_date is
    -- already NULL when it falls after as_of, so the episode then runs to as_of.
    -- MATERIALIZED: computed once, so `ep` (numbered in no particular order)
    -- is the same in every part of the query that joins on it.
    SELECT
        row_number() OVER () AS ep,  -- an integer key: cheaper to group and join on
        e.episode_id, e.patient_id, e.admit_date, t.target_minutes,
        /*dimension*/ AS grp,
        greatest(0, (least(coalesce(e.discharge_date, e.as_of), e.as_of) - e.admit_date + 1) // 7)::INTEGER
            AS complete_weeks
    FROM main.selected_episodes() AS e
    LEFT JOIN targets AS t ON t.target_program = e.program
),
week_rows AS (
    -- attended minutes of every complete episode-week that had an attended session,
    -- with the episode's group and target carried along (any_value: one value per
    -- episode), so that attended_weeks needs no second join of ~1.3 M weeks (at
    -- 10 M sessions) back to the episodes.
    -- main.sessions is joined to the selected episodes directly (instead of through
    -- selected_sessions()) to have complete_weeks at hand; the one session rule
    -- selected_sessions() adds, session_date <= as_of, holds for every complete week.
    SELECT e.ep, (s.session_date - e.admit_date) // 7 + 1 AS week_number, sum(s.attended_minutes) AS minutes,
        any_value(e.grp) AS grp, any_value(e.target_minutes) AS target_minutes
    FROM main.sessions AS s
    JOIN episodes AS e ON e.episode_id = s.episode_id
    WHERE s.status = 'attended'
      AND s.session_date >= e.admit_date
      AND s.session_date < e.admit_date + 7 * e.complete_weeks
    GROUP BY e.ep, week_number
),
week_minutes AS (
    -- the same weeks as (ep, week_number, minutes), for the queries that join them
    SELECT ep, week_number, minutes FROM week_rows
),
attended_weeks AS (
    SELECT grp, target_minutes, week_number, minutes, count(*) AS weeks
    FROM week_rows
    GROUP BY ALL
),
reached_weeks AS (
    -- per group and target, how many episodes have week k complete: group the
    -- episodes by their number of complete weeks first, then spread over k
    SELECT grp, target_minutes, unnest(range(1, complete_weeks + 1)) AS week_number, episodes
    FROM (
        SELECT grp, target_minutes, complete_weeks, count(*) AS episodes
        FROM episodes
        WHERE complete_weeks > 0
        GROUP BY ALL
    )
),
zero_weeks AS (
    SELECT r.grp, r.target_minutes, r.week_number, 0 AS minutes,
        sum(r.episodes) - coalesce(any_value(a.weeks), 0) AS weeks
    FROM reached_weeks AS r
    LEFT JOIN (
        SELECT grp, target_minutes, week_number, sum(weeks) AS weeks
        FROM attended_weeks
        GROUP BY ALL
    ) AS a
        ON a.grp IS NOT DISTINCT FROM r.grp
       AND a.target_minutes IS NOT DISTINCT FROM r.target_minutes
       AND a.week_number = r.week_number
    GROUP BY r.grp, r.target_minutes, r.week_number
),
week_counts AS (
    SELECT grp, target_minutes, week_number, minutes, sum(weeks) AS weeks
    FROM (
        SELECT * FROM attended_weeks
        UNION ALL
        SELECT * FROM zero_weeks WHERE weeks > 0
    )
    GROUP BY ALL
)
,
complete_week_rows AS (
    -- every complete episode-week listed once, with its attended minutes (0 when
    -- none), for the two queries that need a week's own date or its episode: the
    -- monthly XmR chart (spc_median_hours.sql) and the histogram's distinct
    -- episodes (dose_hours_histogram.sql). DuckDB leaves it out of the others.
    SELECT e.ep, e.patient_id, e.grp, e.admit_date, e.target_minutes, k.week_number,
        coalesce(m.minutes, 0) AS minutes
    FROM (
        SELECT ep, unnest(range(1, complete_weeks + 1)) AS week_number
        FROM episodes
        WHERE complete_weeks > 0
    ) AS k
    JOIN episodes AS e USING (ep)
    LEFT JOIN week_minutes AS m USING (ep, week_number)
)
