"""Presentation without Streamlit: Plotly figure builders and the QI meeting packet (HTML and PDF).

The pages and the packet draw the same figures from here. May import every
analytics layer below it (qi, metrics, ingest, privacy, store, config, filters);
never the CLI, Streamlit or ui.
"""
