"""Survey form definitions, their loader and checker, and the submission validator."""
