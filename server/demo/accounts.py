"""The demo accounts: one per role, with fixed passwords that are printed to whoever loads the demo."""

from __future__ import annotations

from dataclasses import dataclass

from server.models import Role


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role
    areas: list[str]
    display_name: str


YANGBI = "532922"  # 漾濞彝族自治县
JIANCHUAN = "532931"  # 剑川县

# The passwords are public by design (demo only) yet pass the strength check, so the same
# create_user path as real accounts applies. A second supervisor in another county makes
# cross-area checks easy to try.
ACCOUNTS: list[DemoAccount] = [
    DemoAccount("demo_admin", "erhai-cangshan-admin-2026", Role.admin, ["53"], "演示管理员 Demo admin"),
    DemoAccount("demo_planner", "dali-three-pagodas-2026", Role.planner, ["5329"], "演示规划员 Demo planner"),
    DemoAccount("demo_supervisor", "yangbi-walnut-review-31", Role.supervisor, [YANGBI],
                "演示督导（漾濞） Demo supervisor, Yangbi"),
    DemoAccount("demo_enumerator", "yangbi-walnut-survey-47", Role.enumerator, [YANGBI],
                "演示调查员（漾濞） Demo enumerator, Yangbi"),
    DemoAccount("demo_supervisor_jc", "shaxi-market-review-65", Role.supervisor, [JIANCHUAN],
                "演示督导（剑川） Demo supervisor, Jianchuan"),
]
