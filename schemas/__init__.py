"""Marshmallow schemas of every API payload, and the JSON Schema of the form-definition format."""
