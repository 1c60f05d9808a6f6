"""Failure alerts for the operators of the pipeline, sent through Airflow's smtp provider.

Stakeholder reports go through report.deliver; alerts go to an ops address when a task of the
DAG fails, through the Airflow connection `smtp_default` (CONTRACT.md), so the mail server and
its credentials live in Airflow and never in the DAG file.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

OPS_EMAIL_ENV = "CX_OPS_EMAIL"
DEFAULT_OPS_EMAIL = "cx-ops@localhost"
SENDER = "cx-pipeline@localhost"
SUBJECT = "[CX Pipeline] {{ ti.dag_id }}.{{ ti.task_id }} failed ({{ run_id }})"
BODY = (
    "<p>Task <strong>{{ ti.task_id | e }}</strong> of <strong>{{ ti.dag_id | e }}</strong> failed "
    "on try {{ ti.try_number }} of run {{ run_id | e }}.</p>"
    "<p>{{ (exception | default('no exception recorded')) | string | e }}</p>"
    "<p>Rerunning the day is safe: loads replace by natural key and reports are never emailed twice.</p>"
)


def failure_notifier(to: str | None = None, smtp_conn_id: str = "smtp_default") -> SmtpNotifier:
    """The `on_failure_callback` for cx_nightly: an SmtpNotifier emailing the ops address.

    The address is `to`, else the CX_OPS_EMAIL environment variable, else cx-ops@localhost.
    Wire it into the DAG's default_args: `{"on_failure_callback": failure_notifier()}`; the
    provider is imported here, not at the DAG's top level, so parsing stays cheap.
    """
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    address = to or os.environ.get(OPS_EMAIL_ENV) or DEFAULT_OPS_EMAIL
    return SmtpNotifier(to=address, from_email=SENDER, subject=SUBJECT, html_content=BODY,
                        smtp_conn_id=smtp_conn_id)
