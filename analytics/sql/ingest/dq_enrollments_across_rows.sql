-- Problems of enrollment rows that only show across rows: an episode id repeated
-- with different content. One row per record index with the list of its problems.
CREATE OR REPLACE TEMP TABLE ingest_file_problems AS
SELECT
    r.idx,
    [{'column': 'episode_id', 'raw_value': r.record_id,
      'reason': 'duplicate id with different content: this episode_id appears ' || d.copies || ' times in the file'}] AS problems
FROM ingest_rows AS r
JOIN ingest_dups AS d USING (record_id)
WHERE d.versions > 1
