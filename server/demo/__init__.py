"""Deterministic Dali demo data for `flask demo load`: real counties, generated villages, households, accounts.

The loader (`server.demo.loader`: load, is_loaded) is imported where it is used: it pulls in the geometry libraries,
which a web worker never needs.
"""

from server.demo.accounts import ACCOUNTS, DemoAccount
from server.demo.sizes import SIZES, DemoSize

__all__ = ["ACCOUNTS", "SIZES", "DemoAccount", "DemoSize"]
