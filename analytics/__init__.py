"""IOP outcomes analytics: everything but the Streamlit pages, in layers.

    cli       the command line (python -m analytics, iop)
    report    Plotly figures and the QI meeting packet
    qi        control charts, funnels, periods, targets, at-risk list, interventions
    metrics   metric definitions          ingest   importing exports
    privacy   roles, suppression, exports, audit
    store     the DuckDB connection, backends, schema and its versions, macros, named SQL
    filters, formatting, instruments   the filter/scope dataclasses, value formats, instrument definitions
    config    settings (config/iop.toml)

Each layer imports only those below it; nothing here imports streamlit or ui.
tests/test_layers.py checks both with import-linter (contracts in pyproject.toml).
"""
