"""The sync engine: ingest, change feed and reconciliation; it knows no web framework."""
