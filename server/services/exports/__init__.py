"""Exports for planners: layers of households, people, villages, cases and indicators, written in GIS and office formats."""
