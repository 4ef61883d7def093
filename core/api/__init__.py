"""Taskgate's HTTP API (/api/v1) and Prometheus metrics (/metrics), on the pages' own server.

No streamlit here: the server (core/ui/server.py) hands these routes a way to
reach the process's App, so the API works beside the pages and is tested alone.
"""
