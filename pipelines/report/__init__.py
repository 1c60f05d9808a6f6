"""The report stage: marts → context → web page and emails (reports/templates/).

`build_context` reads the warehouse, `render_web` / `render_email` turn a context into output,
`write_report` / `deliver` write the page and deliver the emails for a business day.
"""

from pipelines.report.context import build_context
from pipelines.report.deliver import Delivery, Recipient, deliver, load_recipients, write_index, write_report
from pipelines.report.render import render_email, render_web

__all__ = [
    "Delivery",
    "Recipient",
    "build_context",
    "deliver",
    "load_recipients",
    "render_email",
    "render_web",
    "write_index",
    "write_report",
]
