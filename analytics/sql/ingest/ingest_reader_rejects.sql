-- Records the CSV reader could not split into the header's fields (too few or too
-- many fields, a stray quote). They are rejects like any other, with their line.
-- A line of a kind with a patient id or free text ($mask_lines: enrollments) may hold
-- one, so its raw text is masked.
INSERT INTO store.rejects (batch_id, file, kind, line, record_id, problems)
SELECT
    $batch_id,
    $file,
    $kind,
    l.line,
    NULL,
    [{'column': '(whole line)',
      'raw_value': CASE WHEN $mask_lines
                        THEN '(hidden: ' || length(trim(e.csv_line, E'\r\n')) || ' characters)'
                        ELSE trim(e.csv_line, E'\r\n') END,
      'reason': CASE e.error_type
                    WHEN 'MISSING COLUMNS' THEN 'too few fields on this line for the header'
                    WHEN 'TOO MANY COLUMNS' THEN 'too many fields on this line for the header'
                    WHEN 'UNQUOTED VALUE' THEN 'a quote character inside an unquoted field, or a quote that is never closed'
                    WHEN 'LINE SIZE OVER MAXIMUM' THEN 'the line is too long to be a record'
                    ELSE 'the line could not be read as a CSV record'
                END}]
FROM (
    -- one row per rejected record, even when the reader reports several errors on it
    SELECT DISTINCT ON (line_byte_position) *
    FROM reject_errors
    ORDER BY line_byte_position, column_idx
) AS e
JOIN ingest_reject_lines AS l ON l.byte_position = e.line_byte_position
