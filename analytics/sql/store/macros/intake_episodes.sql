-- Why a macro: the first contact, the care days of the first 28 days and the IET-style
-- windows are shared by the access summary, its breakdowns, the control charts, the
-- tiles and the at-risk list; written once, every figure counts them the same way.
-- Initiation and engagement are IET-style (the program's own sessions only), never the
-- HEDIS measure.
CREATE OR REPLACE MACRO main.intake_episodes() AS TABLE
-- One row per selected episode with what the access figures need.
-- NOT MATERIALIZED: each use reads only the columns it needs (a materialized copy would
-- carry every column, the extra MAP included, at 290,000 episodes costing more than
-- selecting them twice).
WITH dated AS NOT MATERIALIZED (
    -- first contact: the enrollment's own date, else the earliest first contact of the
    -- admitted referrals that name the episode, read from ALL referrals (no filter, no
    -- as-of cut): the request that led to an episode is part of its history. The
    -- IET-style index date is the first contact when known, else the admission.
    SELECT
        e.episode_id, e.patient_id, e.site, e.program, e.admit_date, e.extra,
        CAST(getvariable('as_of') AS DATE) AS as_of,
        coalesce(own.first_contact_date, r.first_contact_date) AS first_contact_date,
        coalesce(own.first_contact_date, r.first_contact_date, e.admit_date) AS index_date
    FROM main.selected_episodes() AS e
    -- the enrollment's own first contact (selected_episodes() carries only what every
    -- metric reads, and binds on a store from before the column)
    JOIN main.enrollments AS own ON own.episode_id = e.episode_id
    LEFT JOIN (
        SELECT episode_id, min(first_contact_date) AS first_contact_date
        FROM main.referrals
        WHERE outcome = 'admitted' AND episode_id IS NOT NULL
        GROUP BY episode_id
    ) AS r ON r.episode_id = e.episode_id
),
attended_words AS (
    -- the days with an attended session up to as_of, per episode and calendar word
    SELECT episode_id, word, days, first_day FROM main.attended_days()
),
care AS (
    -- per selected episode: its first attended day; its days 0..27 from the admission
    -- (bit k = admit + k); its days 0..47 from the index date (bit k = index + k), the
    -- longest IET-style window (initiation by index + 13, engagement up to initiation + 34)
    SELECT
        w.episode_id,
        min(w.first_day) AS first_attended,
        bit_or(window_days(w.days, w.word, i.admit_date - DATE '0001-01-01', 28)) AS care_bits,
        bit_or(window_days(w.days, w.word, i.index_date - DATE '0001-01-01', 48)) AS iet_bits
    FROM attended_words AS w
    JOIN dated AS i USING (episode_id)
    GROUP BY w.episode_id
),
initiation AS (
    SELECT i.*, c.first_attended, c.care_bits, c.iet_bits,
        -- initiation: the first attended day from the index date to index + 13 (bits 0..13)
        CASE WHEN c.iet_bits & 16383 > 0 THEN lowest_bit(c.iet_bits & 16383) END AS initiation_day
    FROM dated AS i
    LEFT JOIN care AS c USING (episode_id)
)
SELECT
    episode_id, patient_id, site, program, admit_date, extra, as_of, first_contact_date, index_date,
    first_attended,
    -- wait: first contact to the first attended session, in days (null when either is unknown)
    first_attended - first_contact_date AS wait_days,
    -- NIATx continuation: admissions followed for their whole first 28 days, and their
    -- days with an attended session in them (admit .. admit + 27)
    admit_date <= as_of - 28 AS continuation_eligible,
    coalesce(bit_count(care_bits), 0)::INTEGER AS care_days_28,
    -- IET-style: an index date followed for 47 days (13 to initiate, 34 more to engage)
    index_date <= as_of - 47 AS iet_eligible,
    index_date + initiation_day AS initiation_date,
    -- engagement: attended on at least two further days, from the day after initiation
    -- to initiation + 34 (bits initiation + 1 .. initiation + 34)
    coalesce(bit_count((iet_bits >> (initiation_day + 1)::UBIGINT) & ((1::UBIGINT << 34) - 1)) >= 2, false)
        AS engaged
FROM initiation
