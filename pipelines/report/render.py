"""Rendering the report context with the Jinja2 templates in reports/templates/.

HTML templates autoescape (customer text is never marked safe); the plain-text alternative does
not, so it carries the text literally. Output depends only on the context: rendering the same
context twice gives the same bytes.
"""

from __future__ import annotations

import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from functools import cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipelines.config import TEMPLATES_DIR

if TYPE_CHECKING:
    from pipelines.report.deliver import Recipient

SENDER = Address(display_name="CX Pipeline", addr_spec="cx-pipeline@localhost")


@cache
def environment() -> Environment:
    """The template environment: autoescape for .html, off for .txt, undefined names are errors."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), disabled_extensions=("txt",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_web(context: dict[str, Any]) -> str:
    """The self-contained web page (inline CSS and SVG, no external resources)."""
    return environment().get_template("web.html").render(context, variant="web")


def render_email(context: dict[str, Any], recipient: Recipient) -> EmailMessage:
    """The report as a multipart/alternative email (text/plain, then text/html) for one recipient.

    Headers derive from the business day and the content, not the clock: the Date is the end
    of the business day and the Message-ID and MIME boundary hash the message, so a rerun over
    the same marts writes an identical file.
    """
    env = environment()
    text = env.get_template("email.txt").render(context, recipient=recipient, variant="email")
    html = env.get_template("email.html").render(context, recipient=recipient, variant="email")
    digest = hashlib.sha256("\0".join((recipient.email, text, html)).encode()).hexdigest()[:24]

    message = EmailMessage()
    message["Subject"] = context["email"]["subject"]
    message["From"] = SENDER
    message["To"] = Address(display_name=recipient.name, addr_spec=recipient.email)
    message["Date"] = context["email"]["date"]
    message["Message-ID"] = f"<cx-report-{context['day']}-{digest}@cx-pipeline>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message.set_boundary(f"==cx-{digest}==")
    return message
