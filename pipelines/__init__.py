"""CX Pipeline: reviews, social mentions and surveys into CX KPIs and stakeholder reports."""

__version__ = "0.1.0"
