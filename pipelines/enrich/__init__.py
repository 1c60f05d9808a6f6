"""Enrichment before staging: PII redaction and hashing, sentiment."""
