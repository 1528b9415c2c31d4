"""Plausible values of Dali prefecture shared by the hints and the default draws: people, places, codes, phrases.

Names of people and places come from server/demo/names.py (the demo data's surnames, given-name pools and place
syllables) and county codes from server/demo/dali.py, so generated submissions and demo data look alike.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from server.demo import dali, names

DALI_COUNTIES = tuple(county.code for county in dali.COUNTIES)
PHRASES = (
    "家中主要劳动力外出务工", "因病住院花费较大", "种植核桃收入下降", "房屋已完成加固", "已申请临时救助",
    "儿子在昆明读书", "农户反映情况属实", "需持续跟踪监测", "产业帮扶已落实", "饮水管道已入户",
    "今年遭受干旱影响", "家庭收入稳定", "已签约家庭医生", "养殖黄牛三头", "需要技能培训",
)
REASONS = ("家庭成员患重病，医疗支出增加", "主要劳动力失业返乡", "遭受洪涝灾害，农作物减产", "农产品价格下跌",
           "家庭成员意外受伤，无法务工", "生猪价格下跌，养殖亏损")
NEED_PHRASES = {
    "infrastructure": ("村组道路硬化", "饮水管网改造", "村内排水沟建设", "太阳能路灯安装", "防洪堤加固"),
    "industry": ("核桃初加工厂房建设", "茶叶加工设备购置", "冷链仓储建设", "肉牛养殖小区建设"),
    "public_services": ("村卫生室改造", "村级活动场所建设", "幼儿园设施改善"),
}
DEFAULT_NEEDS = ("村庄人居环境整治", "产业发展配套设施", "乡村旅游接待设施", "农田水利设施修缮", "集体经济项目")
ASSETS = ("核桃初加工厂", "茶叶加工厂房", "光伏电站", "冷库", "村组道路", "饮水工程", "农贸市场", "养殖小区", "民宿",
          "蔬菜大棚", "村级活动场所")
UNITS = ("大理州农业农村局", "上海市闵行区帮扶工作组", "大理州人民医院", "云南省交通运输厅", "大理州财政局",
         "漾濞县教育体育局", "剑川县林业和草原局", "中国农业银行大理分行")
DALI_INDUSTRIES = ("walnut", "tea", "cattle", "pigs", "vegetables", "tobacco", "fruit", "medicinal", "edible_fungi",
                   "poultry", "sheep_goats")


def given_name(rng: random.Random, sex: str | None = None, birth_year: int | None = None) -> str:
    """A given name (server.demo.names), of either sex and generation when they are not known yet."""
    sex = sex if sex in ("male", "female") else rng.choice(("male", "female"))
    if birth_year is None:
        birth_year = names.OLD_GENERATION_BEFORE - (1 if rng.random() < 0.5 else 0)
    return names.given_name(rng, sex, birth_year)


def person_name(rng: random.Random, sex: str | None = None, birth_year: int | None = None,
                family_name: str | None = None) -> str:
    return (family_name or names.surname(rng)) + given_name(rng, sex, birth_year)


def place_name(rng: random.Random, suffix: str | None = None) -> str:
    """A two-syllable place stem (server.demo.names) and the suffix, or a natural village's suffix when None."""
    stem = names.place_stem(rng)
    return stem[0] + suffix if suffix is not None else names.natural_village_name(stem, rng)[0]


def phrase(rng: random.Random, max_length: int | None = None, pool: tuple[str, ...] = PHRASES) -> str:
    text = rng.choice(pool)
    return text[:max_length] if max_length else text


def mobile_phone(rng: random.Random) -> str:
    return rng.choice(("13", "15", "17", "18", "19")) + "".join(rng.choice("0123456789") for _ in range(9))


def admin_village_code(rng: random.Random) -> str:
    """A 12-digit administrative village code in Dali: county (6), township (3), village (3)."""
    return f"{rng.choice(DALI_COUNTIES)}{rng.randint(100, 112):03d}{rng.randint(1, 25):03d}"


def natural_village_code(rng: random.Random, admin: str | None = None) -> str:
    return f"{admin or admin_village_code(rng)}{rng.randint(1, 18):03d}"


def birth_date_for_age(rng: random.Random, on: date, age: int) -> date:
    """A birth date that makes someone exactly `age` years old on `on`."""
    latest = _years_before(on, age)
    earliest = _years_before(on, age + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
