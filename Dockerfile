# The Airflow image docker-compose.yml runs: the official Airflow image plus the cx pipeline.
# Dependencies are pinned by constraints.txt (the same pins `make install` uses); Airflow itself
# is pinned to the image's version so pip can never swap it out.
FROM apache/airflow:3.3.2

USER airflow

# The project lives in /opt/cx and is installed editable: pipelines/ reads sql/, reports/templates/,
# expectations/ and config/ relative to the project root.
COPY --chown=airflow:0 pyproject.toml README.md constraints.txt /opt/cx/
COPY --chown=airflow:0 pipelines/ /opt/cx/pipelines/
COPY --chown=airflow:0 sql/ /opt/cx/sql/
COPY --chown=airflow:0 reports/ /opt/cx/reports/
COPY --chown=airflow:0 expectations/ /opt/cx/expectations/
COPY --chown=airflow:0 config/ /opt/cx/config/
RUN pip install --no-cache-dir -c /opt/cx/constraints.txt \
        "apache-airflow==${AIRFLOW_VERSION}" -e "/opt/cx[celery]" \
    && mkdir -p /opt/airflow/var \
    && chmod 775 /opt/airflow/var

COPY --chown=airflow:0 dags/ /opt/airflow/dags/
# registers the cx_nightly schedule (pipelines.timetable) with the scheduler
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/

ENV CX_HOME=/opt/airflow/var \
    CX_CONFIG=/opt/cx/config/sources.yml

# `cx` is importable and on PATH, and the DAG parses, or the build fails here.
RUN cx --help >/dev/null && python -c "import runpy; runpy.run_path('/opt/airflow/dags/cx_nightly.py')"
