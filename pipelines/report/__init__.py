"""The report stage: marts → context → web page and emails (reports/templates/).

`build_context` reads the warehouse, `render_web` / `render_email` turn a context into output,
`write_report` / `deliver` write the files for a business day.
"""

from pipelines.report.context import build_context
from pipelines.report.deliver import Recipient, deliver, load_recipients, write_report
from pipelines.report.render import render_email, render_web

__all__ = [
    "Recipient",
    "build_context",
    "deliver",
    "load_recipients",
    "render_email",
    "render_web",
    "write_report",
]
