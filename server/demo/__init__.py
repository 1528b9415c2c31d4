"""Deterministic Dali demo data for `flask demo load`: real counties, generated villages, households, accounts."""

from server.demo.accounts import ACCOUNTS, DemoAccount
from server.demo.loader import DemoReport, is_loaded, load
from server.demo.sizes import SIZES, DemoSize

__all__ = ["ACCOUNTS", "SIZES", "DemoAccount", "DemoReport", "DemoSize", "is_loaded", "load"]
