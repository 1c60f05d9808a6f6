"""GX Data Docs for browsing: every suite in expectations/, and how one business day fared.

`build_data_docs` writes a static site into `$CX_HOME/data_docs` (open `index.html`). It holds
the expectation pages of every suite and validation results for the day: each source's landing
files against its family suite and its table suite, and the marts' rows for the day against the
mart suites. It reads the warehouse and the landing zone only; it changes neither. The docs use
their own GX context, so building them never touches the validation context the loads share.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from pipelines.config import EXPECTATIONS_DIR
from pipelines.quality.marts import MART_SUITES
from pipelines.sources import get_parser
from pipelines.validate.gx import load_suite, suite_names

if TYPE_CHECKING:
    from pipelines.run import Pipeline

SITE = "cx_data_docs"


def build_data_docs(pipeline: Pipeline, day: date | None = None) -> Path:
    """Build the Data Docs site for `day` (default: the latest day with KPIs); returns index.html."""
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from pipelines.quality.day import SourceDay, trailing_volumes
    from pipelines.validate import validate_batch

    target = pipeline.settings.home / "data_docs"
    context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
        analytics_enabled=False, progress_bars=ProgressBarsConfig(globally=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(),
    ))
    context.add_data_docs_site(SITE, {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(target)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    suites = {name: context.suites.add(ExpectationSuite(**_suite_doc(name))) for name in suite_names()}
    pandas = context.data_sources.add_pandas("cx_pipeline")
    assets: dict[str, Any] = {}

    def validate(asset: str, suite: str, frame: pd.DataFrame, parameters: dict[str, Any]) -> None:
        if asset not in assets:
            assets[asset] = pandas.add_dataframe_asset(asset)
        batch = assets[asset].add_batch_definition_whole_dataframe(suite)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{asset} / {suite}", data=batch, suite=suites[suite]))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"{asset} / {suite}", validation_definitions=[definition], result_format={"result_format": "SUMMARY"},
        ))
        checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=parameters)

    with pipeline.engine.connect() as conn:
        day = day or conn.execute(sa.text("select max(kpi_date) from marts.kpi_daily")).scalar()
        if day is not None:
            day_end = pipeline.day_end_utc(day)
            quality = pipeline.config.quality
            for source in pipeline.config.sources:
                files = source.files(pipeline.settings.landing_dir, day)
                batches = [b for f in files for b in get_parser(source.format)(f, source, pipeline.config.timezone)]
                if not batches:
                    continue
                frame = pd.concat(batches, ignore_index=True)
                check = SourceDay(source.family, source.name, day_end, quality,
                                  trailing_volumes(conn, source.name, day, quality.volume_history_days))
                check.add(frame, validate_batch(frame, source.family, source.name, day_end, check.tolerance))
                suite = load_suite(source.family)
                validate(source.name, source.family, frame.loc[:, list(suite.columns)],
                         {"max_time": day_end + check.tolerance})
                validate(source.name, f"{source.family}_table", check.profile(), check.parameters())
            for mart, date_column in MART_SUITES.items():
                frame = pd.read_sql_query(sa.text(f"select * from marts.{mart} where {date_column} = :day"),
                                          conn, params={"day": day})
                validate(f"marts.{mart}", mart, frame, {})
    context.build_data_docs(site_names=[SITE])
    return target / "index.html"


def _suite_doc(name: str) -> dict[str, Any]:
    return json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))
