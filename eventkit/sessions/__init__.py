"""Sessions: server-side sessionization, lifecycle, expiry and session analytics.

Pure domain code (no litestar, typer or textual). See docs/sessions.md.
"""
