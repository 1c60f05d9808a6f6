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

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipelines.config import TEMPLATES_DIR
from pipelines.report.charts import to_png, to_svg

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
    """The self-contained web page (inline CSS and SVG, no external resources) with every section."""
    figures = {c.name: {"alt": c.alt, "svg": to_svg(c), "width": c.width, "height": c.height}
               for c in context["charts"]}
    return environment().get_template("web.html").render(context, variant="web", full=True, figures=figures)


def _cid(day: str, name: str) -> str:
    return f"{name}.{day}@cx-pipeline"


def render_email(context: dict[str, Any], recipient: Recipient) -> EmailMessage:
    """The report as a multipart/alternative email for one recipient: text/plain, then
    multipart/related holding the HTML (CSS inlined) and its charts as PNG parts referenced by CID.

    A daily recipient gets the executive summary, a weekly or cut recipient every section.

    Headers derive from the business day and the content, not the clock: the Date is the end
    of the business day and the Message-ID and MIME boundary hash the message, so a rerun over
    the same marts writes an identical file.
    """
    env = environment()
    full = recipient.kind == "weekly" or recipient.cut is not None
    figures = {c.name: {"alt": c.alt, "src": f"cid:{_cid(context['day'], c.name)}", "width": c.width,
                        "height": c.height} for c in context["charts"]}
    values = {"recipient": recipient, "variant": "email", "full": full, "figures": figures}
    text = env.get_template("email.txt").render(context, **values)
    html = css_inline.inline(env.get_template("email.html").render(context, **values))
    images = [(c, to_png(c)) for c in context["charts"] if f"cid:{_cid(context['day'], c.name)}" in html]
    digest = hashlib.sha256(b"\0".join(
        (recipient.email.encode(), text.encode(), html.encode(), *(png for _, png in images)))).hexdigest()[:24]

    message = EmailMessage()
    message["Subject"] = context["email"]["subject"]
    message["From"] = SENDER
    message["To"] = Address(display_name=recipient.name, addr_spec=recipient.email)
    message["Date"] = context["email"]["date"]
    message["Message-ID"] = f"<cx-report-{context['day']}-{digest}@cx-pipeline>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    html_part = message.get_payload()[1]
    for chart, png in images:
        html_part.add_related(png, "image", "png", cid=f"<{_cid(context['day'], chart.name)}>",
                              filename=f"{chart.name}.png")
    message.set_boundary(f"==cx-{digest}==")
    if images:
        html_part.set_boundary(f"==cx-related-{digest}==")
    return message
