"""Deterministic Dali demo data for `flask demo load`: areas, households, cases, villages and accounts.

Real counties and townships, generated villages; households in the seeds' proportions with their incomes and
monitoring cases; the villages' infrastructure; one account per role.

The loader (`server.demo.loader`: load, is_loaded) is imported where it is used: it pulls in the geometry libraries,
which a web worker never needs.
"""

from server.demo.accounts import ACCOUNTS, DemoAccount
from server.demo.sizes import SIZES, DemoSize

__all__ = ["ACCOUNTS", "SIZES", "DemoAccount", "DemoSize"]
