-- Rejected input rows, one row per problem (a line can have several), newest batch first.
-- Raw values of patient ids and free-text columns were masked when the rejects were
-- written (analytics/ingest/), so this can be shown and downloaded as it is.
SELECT r.batch_id, r.file, r.kind, r.line, r.record_id,
       p."column" AS "column", p.raw_value, p.reason
FROM main.rejects AS r, unnest(r.problems) AS u(p)
ORDER BY r.batch_id DESC, r.line, p."column"
LIMIT $limit
