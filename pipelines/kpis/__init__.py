"""CX KPIs: statistics on warehouse aggregates, written to marts.kpi_daily."""
