"""Per-form hints for tools.formfill: realistic values, and the cross-field rules random draws cannot hit.

A hint is `fn(top, row, rng) -> value`. `top` is the top level as rules see it (the values drawn so far, the
server's calculations, `$params`, and `$plan`: a dict that lives for one fill, where hints keep what they decided
once, such as the household's income); `row` is the repetition being filled (with `$root` and `$params`), or
None at the top level. A hint may answer SKIP (draw the usual way), OMIT (leave this optional field out) or
DEFER (not yet: the fields it needs are not filled; ask again on the next pass).

`FormHints.draw` is asked once, when a field is first filled; `FormHints.derive` on every pass, for values that
follow from the rest (the household size, the householder's name): a derive hint must answer the same for the
same submission, so it draws from `rng` only through `memo`. `FormHints.rows` seeds a repeat's rows.
Keys are the field name at the top level and "<repeat>.<field>" inside a repeat.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


SKIP = _Sentinel("SKIP")
OMIT = _Sentinel("OMIT")
DEFER = _Sentinel("DEFER")

Hint = Callable[[dict[str, Any], "dict[str, Any] | None", random.Random], Any]
RowsHint = Callable[[dict[str, Any], int, random.Random], list[dict[str, Any]]]


@dataclass(frozen=True)
class FormHints:
    draw: Mapping[str, Hint] = field(default_factory=dict)
    derive: Mapping[str, Hint] = field(default_factory=dict)
    rows: Mapping[str, RowsHint] = field(default_factory=dict)


NO_HINTS = FormHints()

# --- shared values: places, people, identity numbers -------------------------------------------------------

DALI_COUNTIES = ("532901", "532922", "532923", "532924", "532925", "532926", "532927", "532928", "532929", "532930",
                 "532931", "532932")
SURNAMES = ("杨", "李", "赵", "张", "段", "王", "字", "罗", "杜", "苏", "何", "尹", "董", "鲁", "施", "茶", "陈", "刘",
            "周", "和", "普", "起", "毕", "马", "纳", "洪", "高", "寸", "左", "自")
SURNAME_WEIGHTS = (14, 12, 7, 7, 5, 6, 3, 4, 2, 2, 3, 2, 2, 2, 2, 2, 3, 3, 2, 2, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1)
GIVEN = {
    ("male", True): "建国华明军忠发成福贵昌荣正德学兴光林春文开志永",
    ("male", False): "浩宇杰俊涛鹏伟强磊斌超勇鑫宏博龙辉毅翔晨阳",
    ("female", True): "秀英兰梅凤琼玉珍芳桂金翠菊花月仙美春莲淑丽",
    ("female", False): "婷静敏琳慧萍艳娟丽燕霞雪欣怡佳颖晶蕾倩洁瑶",
}
PLACE_SYLLABLES = "龙马石河山金新和平安云松桂花水清白黑青红长丰福宝凤鹤羊牛茶竹梅桃兴富永乐德华文胜利坝沙林坡岩海湾桥溪田塘庆"
VILLAGE_SUFFIXES = "村村村寨营坪箐庄甸哨"
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
CURRENT = ("present", "born", "married_in")
EMPLOYED = ("outside_province", "in_province_outside_county", "in_county", "public_welfare_job", "assistance_workshop",
            "self_employed")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def weighted(rng: random.Random, options: Mapping[str, float]) -> str:
    names = list(options)
    return rng.choices(names, [options[name] for name in names])[0]


def memo(top: dict[str, Any], key: str, make: Callable[[], Any]) -> Any:
    """`make()` once per fill (kept in top["$plan"]), so a derive hint can draw at random and still be stable."""
    plan = top.setdefault("$plan", {})
    if key not in plan:
        plan[key] = make()
    return plan[key]


def surname(rng: random.Random) -> str:
    return rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]


def given_name(rng: random.Random, sex: str | None = None, birth_year: int | None = None) -> str:
    sex = sex if sex in ("male", "female") else rng.choice(("male", "female"))
    old = rng.random() < 0.5 if birth_year is None else birth_year < 1975
    pool = GIVEN[(sex, old)]
    return "".join(rng.choice(pool) for _ in range(1 if rng.random() < 0.35 else 2))


def person_name(rng: random.Random, sex: str | None = None, birth_year: int | None = None,
                family_name: str | None = None) -> str:
    return (family_name or surname(rng)) + given_name(rng, sex, birth_year)


def place_name(rng: random.Random, suffix: str | None = None) -> str:
    first = rng.choice(PLACE_SYLLABLES)
    second = rng.choice(PLACE_SYLLABLES.replace(first, ""))
    return first + second + (suffix if suffix is not None else rng.choice(VILLAGE_SUFFIXES))


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


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits of a resident identity number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def id_card_no(rng: random.Random, birth: str, sex: str, region: str | None = None) -> str:
    """An 18-character identity number consistent with a birth date (YYYY-MM-DD) and sex (odd 17th digit: male)."""
    region = region if region and len(region) == 6 and region.isdigit() else rng.choice(DALI_COUNTIES)
    sequence = rng.randint(0, 99) * 10 + rng.choice((1, 3, 5, 7, 9) if sex == "male" else (0, 2, 4, 6, 8))
    first17 = f"{region}{birth[:4]}{birth[5:7]}{birth[8:10]}{sequence:03d}"
    return first17 + id_check_digit(first17)


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


def _date(value: Any, fallback: date) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else fallback
    except ValueError:
        return fallback


def _today(top: dict[str, Any]) -> date:
    return top.get("$plan", {}).get("today", date(2026, 11, 20))


def _num(value: Any, default: float = 0) -> float:
    return value if type(value) in (int, float) else default


def _rows(top: dict[str, Any], repeat: str) -> list[dict[str, Any]]:
    rows = top.get(repeat)
    return [row for row in rows if type(row) is dict] if type(rows) is list else []


def _fixed(value: Any) -> Hint:
    return lambda top, row, rng: value


def _choose(options: Mapping[str, float]) -> Hint:
    return lambda top, row, rng: weighted(rng, options)


def _yes(probability: float) -> Hint:
    return lambda top, row, rng: "yes" if rng.random() < probability else "no"


def _maybe(probability: float, hint: Hint) -> Hint:
    """An optional field: present with `probability`, drawn by `hint`."""
    return lambda top, row, rng: hint(top, row, rng) if rng.random() < probability else OMIT


def _year_of(date_field: str) -> Hint:
    return lambda top, row, rng: _date(top.get(date_field), _today(top)).year


# --- household_visit ---------------------------------------------------------------------------------------


def _current(top: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in _rows(top, "members") if row.get("member_status") in CURRENT]


def _head(top: dict[str, Any]) -> dict[str, Any] | None:
    return next((row for row in _current(top) if row.get("relation_to_head") == "head"), None)


def _household_size(top, row, rng):
    return len(_current(top)) if _rows(top, "members") else SKIP


def _householder(key: str) -> Hint:
    def hint(top, row, rng):
        head = _head(top)
        if head is None or head.get(key) is None:
            return SKIP if key != "id_card_no" else OMIT
        return head[key]

    return hint


def _householder_id(top, row, rng):
    shown = memo(top, "householder_id_shown", lambda: rng.random() < 0.9)
    return _householder("id_card_no")(top, row, rng) if shown else OMIT


def _respondent(top: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    wanted = memo(top, "respondent", lambda: "spouse" if rng.random() < 0.3 else "head")
    spouse = next((row for row in _current(top) if row.get("relation_to_head") == "spouse"), None)
    return spouse if wanted == "spouse" and spouse is not None else _head(top)


def _respondent_name(top, row, rng):
    who = _respondent(top, rng)
    return who["name"] if who is not None and who.get("name") else SKIP


def _respondent_relation(top, row, rng):
    who = _respondent(top, rng)
    return who["relation_to_head"] if who is not None else SKIP


def _village_code(top, row, rng):
    return memo(top, "natural_village_code", lambda: natural_village_code(rng))


ETHNICITIES = {"bai": 35, "han": 30, "yi": 18, "hui": 5, "lisu": 3, "miao": 2, "naxi": 2, "zang": 1, "lahu": 1,
               "pumi": 1, "dai": 1, "achang": 1}


def _family(count: int, rng: random.Random) -> list[tuple[str, str, int]]:
    """(relation, sex, age) of `count` people: a head, usually a spouse, children, sometimes parents or grandchildren."""
    head_sex = "male" if rng.random() < 0.85 else "female"
    other_sex = "female" if head_sex == "male" else "male"
    three_generations = count >= 5 and rng.random() < 0.5
    head_age = rng.randint(50, 72) if three_generations else rng.randint(26, 70 if count <= 2 else 58)
    people = [("head", head_sex, head_age)]
    if count >= 2 and rng.random() < 0.88:
        people.append(("spouse", other_sex, max(20, min(95, head_age + rng.randint(-6, 4)))))
    if head_age <= 55 and len(people) < count and rng.random() < 0.45:
        for relation in ("parent", "parent")[: rng.randint(1, min(2, count - len(people)))]:
            age = min(96, head_age + rng.randint(22, 32))
            people.append((relation, rng.choice(("male", "female")), age))
    if three_generations and count - len(people) >= 2:
        child_age = rng.randint(max(20, head_age - 38), max(20, head_age - 22))
        child_sex = "male" if rng.random() < 0.75 else "female"
        people.append(("son" if child_sex == "male" else "daughter", child_sex, child_age))
        in_law = "daughter_in_law" if child_sex == "male" else "son_in_law"
        people.append((in_law, "female" if child_sex == "male" else "male", max(20, child_age + rng.randint(-4, 3))))
        while len(people) < count and rng.random() < 0.9:
            people.append(("grandchild", rng.choice(("male", "female")), rng.randint(0, max(0, min(16, child_age - 20)))))
    while len(people) < count:
        youngest, oldest = max(0, head_age - 42), max(0, head_age - 20)
        if oldest >= 0 and rng.random() < 0.85:
            sex = rng.choice(("male", "female"))
            people.append(("son" if sex == "male" else "daughter", sex, rng.randint(youngest, oldest)))
        else:
            people.append((rng.choice(("sibling", "other", "grandchild")), rng.choice(("male", "female")),
                           rng.randint(0, 60)))
    return people[:count]


def _status(relation: str, age: int, rng: random.Random) -> str:
    if relation == "head":
        return "present"
    if age <= 1 and rng.random() < 0.6:
        return "born"
    if relation in ("spouse", "daughter_in_law", "son_in_law") and rng.random() < 0.08:
        return "married_in"
    if rng.random() < 0.06:
        if relation == "parent" or age >= 75:
            return "deceased"
        if relation == "daughter" and age >= 20:
            return "married_out"
        if age >= 18:
            return rng.choice(("moved_out", "split_household"))
    return "present"


def _member_rows(top: dict[str, Any], count: int, rng: random.Random) -> list[dict[str, Any]]:
    """The people of the household, with names, sexes, birth dates, identity numbers and their relation to the head."""
    visit = _date(top.get("visit_date"), _today(top))
    code = top.get("natural_village_code")
    region = code[:6] if isinstance(code, str) else None
    family_name = surname(rng)
    ethnicity = weighted(rng, ETHNICITIES)
    rows = []
    for relation, sex, age in _family(count, rng):
        birth = birth_date_for_age(rng, visit, age).isoformat()
        blood = relation in ("head", "son", "daughter", "grandchild", "sibling") or (relation == "parent" and sex == "male")
        name = person_name(rng, sex, int(birth[:4]), family_name if blood else None)
        row = {"name": name, "sex": sex, "birth_date": birth, "relation_to_head": relation,
               "member_status": _status(relation, age, rng),
               "ethnicity": ethnicity if blood or rng.random() < 0.6 else weighted(rng, ETHNICITIES)}
        if age >= 1 or rng.random() < 0.5:
            row["id_card_no"] = id_card_no(rng, birth, sex, region)
        rows.append(row)
    return rows


def _age(row: dict[str, Any] | None) -> int | None:
    age = row.get("age_years") if row else None
    return age if type(age) is int else None


def _aged(hint: Callable[[int, dict[str, Any], random.Random], Any]) -> Hint:
    """A member hint that needs the member's age (a server calculation, there from the second pass)."""
    def run(top, row, rng):
        age = _age(row)
        return DEFER if age is None else hint(age, row, rng)

    return run


def _education_level(age, row, rng):
    if age < 6:
        return "preschool_na"
    if age <= 12:
        return "primary"
    if age <= 15:
        return "junior"
    if age <= 18:
        return weighted(rng, {"junior": 2, "senior": 5, "secondary_vocational": 3})
    if age >= 65:
        return weighted(rng, {"illiterate": 4, "primary": 5, "junior": 1})
    if age >= 45:
        return weighted(rng, {"illiterate": 1, "primary": 5, "junior": 4, "senior": 1})
    return weighted(rng, {"primary": 2, "junior": 6, "senior": 2, "secondary_vocational": 1.5, "college_plus": 1})


def _schooling_status(top, row, rng):
    school_age = row.get("school_age_years") if row else None
    if type(school_age) is not int:
        return DEFER
    if school_age < 3:
        return "not_applicable"
    if school_age < 6:
        return weighted(rng, {"preschool": 8, "not_applicable": 2})
    if school_age <= 11:
        return weighted(rng, {"primary": 97, "dropped_out": 1, "physically_unable": 0.5, "home_teaching": 0.5})
    if school_age <= 14:
        return weighted(rng, {"junior": 95, "dropped_out": 3, "physically_unable": 0.5, "home_teaching": 0.5})
    if school_age <= 18:
        return weighted(rng, {"senior_high": 45, "secondary_vocational": 30, "not_applicable": 20, "dropped_out": 5})
    if school_age <= 22:
        return weighted(rng, {"higher_vocational": 15, "undergraduate": 15, "not_applicable": 70})
    return "not_applicable"


def _health_status(age, row, rng):
    chronic = 0.04 + (0.2 if age >= 50 else 0) + (0.15 if age >= 70 else 0)
    return weighted(rng, {"healthy": 1 - chronic - 0.07, "chronic": chronic, "serious_illness": 0.03, "disabled": 0.04})


def _self_care(age, row, rng):
    if age >= 80 or row.get("health_status") in ("serious_illness", "disabled"):
        return weighted(rng, {"full": 4, "partial": 4, "none": 2})
    return "full" if age >= 3 else weighted(rng, {"full": 1, "partial": 1})


def _studying(row: dict[str, Any]) -> bool:
    return row.get("schooling_status") not in (None, "not_applicable", "dropped_out", "physically_unable")


def _labour_ability(age, row, rng):
    if age < 16 or _studying(row):
        return "none"
    if row.get("health_status") in ("serious_illness", "disabled") and rng.random() < 0.6:
        return "lost"
    if age >= 75:
        return weighted(rng, {"lost": 6, "weak": 4})
    if age >= 60:
        return weighted(rng, {"weak": 6, "ordinary": 3, "lost": 1})
    return weighted(rng, {"skilled": 1.5, "ordinary": 7, "weak": 1.5})


def _employment_status(age, row, rng):
    if age < 16 or _studying(row):
        return "not_in_labour_force"
    if row.get("labour_ability") in ("lost", "none"):
        return "not_in_labour_force"
    if age >= 60:
        return weighted(rng, {"farming": 7, "not_in_labour_force": 3})
    return weighted(rng, {"outside_province": 20, "in_province_outside_county": 15, "in_county": 15,
                          "public_welfare_job": 5, "assistance_workshop": 3, "self_employed": 7, "farming": 30,
                          "unemployed": 5})


def _pension(age, row, rng):
    if age < 16:
        return "not_applicable"
    if age >= 60:
        return "receiving" if rng.random() < 0.95 else "none"
    return "contributing" if rng.random() < 0.8 else "none"


def _special_groups(age, row, rng):
    if age < 16 and rng.random() < 0.12:
        return ["left_behind_child"]
    if age >= 60 and rng.random() < 0.1:
        return ["left_behind_elderly"]
    return OMIT


def _income_plan(top: dict[str, Any], rng: random.Random) -> dict[str, int]:
    """The household's income by source, drawn once: income per head mostly 4,000-30,000, some below the line."""
    members = _current(top)
    size = max(1, len(members))
    params = top.get("$params", {})
    line = _num(params.get("monitoring_line"), 6000)
    draw = rng.random()
    if draw < 0.13:
        per_head = rng.uniform(0.45, 1.0) * line
    elif draw < 0.35:
        per_head = rng.uniform(line, 10000)
    elif draw < 0.95:
        per_head = rng.uniform(10000, 30000)
    else:
        per_head = rng.uniform(30000, 60000)
    total = per_head * size
    ages = [_age(row) or 0 for row in members]
    transfers = {
        "transfer_dibao": _num(params.get("dibao_standard"), 4620) * rng.randint(1, size) if top.get("is_dibao") == "yes" else 0,
        "transfer_tekun": rng.uniform(5000, 9000) if top.get("tekun_support") not in (None, "none") else 0,
        "transfer_pension": sum(rng.uniform(1300, 2400) for age in ages if age >= 60),
        "transfer_eco_compensation": rng.uniform(80, 1200) if rng.random() < 0.5 else 0,
        "transfer_agri_subsidy": rng.uniform(50, 1500),
        "transfer_disability": sum(rng.uniform(700, 2400) for row in members if row.get("health_status") == "disabled"),
        "transfer_other": rng.uniform(200, 2000) if rng.random() < 0.15 else 0,
    }
    rest = max(0.0, total - sum(transfers.values()))
    earners = sum(1 for row in members if row.get("employment_status") in EMPLOYED)
    farmers = sum(1 for row in members if row.get("employment_status") in ("farming", "self_employed"))
    property_income = rest * rng.uniform(0, 0.05)
    rest -= property_income
    business_share = rng.uniform(0.3, 0.8) if farmers else (rng.uniform(0, 0.2) if earners else 1.0)
    business = rest * business_share
    cost = business * rng.uniform(0.25, 0.7)
    plan = {name: round(value) for name, value in transfers.items()}
    plan.update(income_wage=round(rest - business), income_business_gross=round(business + cost),
                cost_business=round(cost), income_property=round(property_income))
    return plan


def _members_ready(top: dict[str, Any]) -> bool:
    members = _rows(top, "members")
    return bool(members) and all("employment_status" in row for row in _current(top))


def _income(name: str) -> Hint:
    def hint(top, row, rng):
        if not _members_ready(top):
            return DEFER
        return memo(top, "income", lambda: _income_plan(top, rng))[name]

    return hint


def _per_head(top: dict[str, Any]) -> float | None:
    plan = top.get("$plan", {}).get("income")
    if plan is None:
        return None
    net = sum(plan.values()) - 2 * plan["cost_business"]  # cost_business is in the plan and is subtracted
    return net / max(1, len(_current(top)))


def _expense_medical(top, row, rng):
    serious = any(member.get("health_status") == "serious_illness" for member in _current(top))
    draw = rng.random()
    if draw < (0.35 if serious else 0.05):
        return round(rng.uniform(6000, 30000))
    return 0 if draw < 0.45 else round(rng.uniform(100, 4000))


def _expense_education(top, row, rng):
    students = sum(1 for member in _current(top) if _studying(member))
    return sum(round(rng.uniform(300, 3000)) for _ in range(students))


def _monitoring_category(top, row, rng):
    per_head = _per_head(top)
    chance = 0.4 if per_head is not None and per_head < 10000 else 0.1
    draw = rng.random()
    if draw < chance:
        return "unstable_tuopin" if top.get("household_type") == "tuopin" else "marginal"
    return "sudden_hardship" if draw < chance + 0.03 else "none"


def _risk_types(top, row, rng):
    likely = []
    if any(member.get("health_status") in ("serious_illness", "chronic") for member in _current(top)):
        likely.append("illness")
    if any(member.get("health_status") == "disabled" for member in _current(top)):
        likely.append("disability")
    if top.get("housing_grade") in ("C", "D"):
        likely.append("housing_unsafe")
    likely += rng.sample(("unstable_employment", "lack_of_labour", "industry_failure", "high_rigid_expense",
                          "accident", "disaster", "weak_motivation"), 2)
    return likely[: rng.randint(1, 3)]


def _main_risk_type(top, row, rng):
    risks = top.get("risk_types")
    return rng.choice(risks) if type(risks) is list and risks else SKIP


def _housing_solution(top, row, rng):
    if top.get("housing_grade") in ("A", "B") and rng.random() < 0.85:
        return "own_safe"
    return weighted(rng, {"repaired": 4, "rebuilt": 3, "new_site": 1, "relocation_housing": 1, "lives_with_relatives": 1,
                          "rented": 0.5})


def _land_transferred(top, row, rng):
    land = _num(top.get("cultivated_land_mu")) + _num(top.get("forest_land_mu"))
    return round(rng.uniform(0, min(land, 6)), 1) if land > 0 and rng.random() < 0.3 else OMIT


def _main_industries(top, row, rng):
    return rng.sample(DALI_INDUSTRIES, rng.randint(1, 3)) if rng.random() < 0.85 else OMIT


HOUSEHOLD_VISIT = FormHints(
    draw={
        "visit_reason": _choose({"routine": 60, "follow_up": 12, "self_declared": 6, "cadre_screening": 8,
                                 "department_alert": 4, "risk_elimination_check": 6, "disaster_check": 4}),
        "enumerator_id": lambda top, row, rng: f"enumerator-{rng.randint(1, 400):04d}",
        "work_team_id": lambda top, row, rng: f"team-{rng.choice(DALI_COUNTIES)}-{rng.randint(1, 60):02d}",
        "photo_door_plate": _maybe(0.7, lambda top, row, rng: f"door_plate_{rng.getrandbits(24):06x}.jpg"),
        "household_signature": _maybe(0.5, lambda top, row, rng: f"signature_{rng.getrandbits(24):06x}.png"),
        "informed_consent": _fixed("yes"),
        "natural_village_code": _village_code,
        "national_household_no": _maybe(0.8, lambda top, row, rng: f"{_village_code(top, row, rng)}{rng.randint(1, 300):04d}"),
        "phone": _maybe(0.8, lambda top, row, rng: mobile_phone(rng)),
        "household_type": _choose({"tuopin": 45, "non_tuopin": 55}),
        "is_dibao": _yes(0.12),
        "tekun_support": _choose({"none": 93, "dispersed": 5, "centralised": 2}),
        "is_relocated": _yes(0.08),
        "members.education_level": _aged(_education_level),
        "members.schooling_status": _schooling_status,
        "members.yulu_plan": _yes(0.7),
        "members.student_aid": _yes(0.5),
        "members.health_status": _aged(_health_status),
        "members.chronic_diseases": lambda top, row, rng: rng.sample(("hypertension", "diabetes", "other"), rng.randint(1, 2)),
        "members.disability_type": lambda top, row, rng: [rng.choice(("visual", "hearing", "physical", "intellectual"))],
        "members.self_care": _aged(_self_care),
        "members.labour_ability": _aged(_labour_ability),
        "members.employment_status": _aged(_employment_status),
        "members.works_in_shanghai": _yes(0.15),
        "members.work_months": lambda top, row, rng: rng.randint(3, 12),
        "members.skills_training": _choose({"none": 70, "trained": 25, "certified": 5}),
        "members.migrant_travel_subsidy": _yes(0.4),
        "members.medical_insurance": _choose({"resident": 93, "employee": 3, "none": 4}),
        "members.family_doctor_signed": _yes(0.85),
        "members.pension_insurance": _aged(_pension),
        "members.special_groups": _aged(_special_groups),
        "members.speaks_mandarin": _yes(0.85),
        "income_year": lambda top, row, rng: _date(top.get("visit_date"), _today(top)).year - (1 if rng.random() < 0.8 else 0),
        **{name: _income(name) for name in (
            "income_wage", "income_business_gross", "cost_business", "income_property", "transfer_dibao",
            "transfer_tekun", "transfer_pension", "transfer_eco_compensation", "transfer_agri_subsidy",
            "transfer_disability", "transfer_other")},
        "expense_medical_oop": _expense_medical,
        "expense_education": _expense_education,
        "expense_other_rigid": lambda top, row, rng: 0 if rng.random() < 0.6 else round(rng.uniform(200, 3000)),
        "income_drop": _choose({"none": 92, "significant": 8}),
        "income_drop_reason": lambda top, row, rng: rng.choice(REASONS),
        "food_secure": _yes(0.97),
        "clothing_secure": _yes(0.97),
        "hospitalised_this_year": _yes(0.15),
        "village_clinic_access": _yes(0.95),
        "housing_grade": _choose({"A": 40, "B": 40, "C": 9, "D": 3, "not_appraised": 8}),
        "lives_in_graded_house": _yes(0.35),
        "house_structure": _choose({"brick_concrete": 40, "frame": 10, "brick_wood": 25, "earth_wood": 15, "wood": 5,
                                    "stone": 3, "other": 2}),
        "housing_solution": _housing_solution,
        "renovation_year": _maybe(0.4, lambda top, row, rng: rng.randint(2010, _date(top.get("visit_date"), _today(top)).year)),
        "seismic_zone_7plus": _yes(0.7),
        "housing_policies_received": lambda top, row, rng: ["none"] if rng.random() < 0.55 else [
            weighted(rng, {"renovation": 5, "seismic_retrofit": 3, "disaster_repair": 1, "relocation": 1})],
        "water_source": _choose({"tap_centralised": 70, "standpipe": 8, "well": 5, "cistern": 5, "spring": 10, "trucked": 1,
                                 "other": 1}),
        **{name: _yes(0.95) for name in ("water_quantity_ok", "water_quality_ok", "water_convenience_ok",
                                         "water_reliability_ok")},
        "seasonal_shortage": _yes(0.15),
        "drought_water_delivery": _yes(0.1),
        "resettlement_area_code": lambda top, row, rng: admin_village_code(rng),
        "origin_village_code": lambda top, row, rng: natural_village_code(rng),
        "move_in_year": lambda top, row, rng: rng.randint(2016, 2020),
        "main_industries": _main_industries,
        "cultivated_land_mu": _maybe(0.85, lambda top, row, rng: round(rng.uniform(0.5, 15), 1)),
        "forest_land_mu": _maybe(0.6, lambda top, row, rng: round(rng.uniform(0, 40), 1)),
        "land_transferred_out_mu": _land_transferred,
        "micro_credit": _yes(0.12),
        "micro_credit_amount": lambda top, row, rng: rng.randint(2, 10) * 5000,
        "agri_insurance": _yes(0.6),
        "return_to_poverty_insurance": _yes(0.8),
        "toilet": _choose({"sanitary_indoor": 30, "sanitary_yard": 45, "non_sanitary": 20, "none": 5}),
        "garbage_bin": _yes(0.85),
        "livestock_separated": _choose({"yes": 60, "no": 15, "no_livestock": 25}),
        "power_supply": _yes(0.99),
        "clean_energy_cooking": _yes(0.7),
        "road_to_door_hardened": _yes(0.9),
        "broadband_or_4g_home": _yes(0.9),
        "monitoring_category": _monitoring_category,
        "risk_types": _risk_types,
        "main_risk_type": _main_risk_type,
    },
    derive={
        "respondent_name": _respondent_name,
        "respondent_relation": _respondent_relation,
        "householder_name": _householder("name"),
        "householder_id_card_no": _householder_id,
        "household_size": _household_size,
        "ethnicity_of_head": _householder("ethnicity"),
    },
    rows={"members": _member_rows},
)

# --- village forms -----------------------------------------------------------------------------------------


def _share_of(total_field: str, low: float, high: float) -> Hint:
    def hint(top, row, rng):
        total = top.get(total_field)
        return round(total * rng.uniform(low, high)) if type(total) is int else SKIP

    return hint


def _between(low_field: str, high_field: str, factor: tuple[float, float] | None = None) -> Hint:
    """An integer from the value of low_field (times a factor when given) up to the value of high_field."""
    def hint(top, row, rng):
        low, high = top.get(low_field), top.get(high_field)
        if type(low) is not int or type(high) is not int or low > high:
            return SKIP
        top_end = high if factor is None else min(high, max(low, round(low * rng.uniform(*factor))))
        return rng.randint(low, top_end)

    return hint


def _population_total(top, row, rng):
    households = top.get("households_total")
    return round(households * rng.uniform(3.2, 4.2)) if type(households) is int else SKIP


def _population_resident(top, row, rng):
    resident, total = top.get("households_resident"), top.get("population_total")
    if type(resident) is not int or type(total) is not int:
        return SKIP
    return rng.randint(min(total, max(resident, round(total * 0.7))), total)


def _road_surface(top, row, rng):
    access = top.get("road_access")
    if access == "hardened":
        return "cement" if rng.random() < 0.75 else "asphalt"
    return access if access in ("gravel", "earth") else SKIP


def _beneficiaries(top, row, rng):
    total = top.get("households_total")
    return rng.randint(0, total) if type(total) is int else SKIP


def _need_description(top, row, rng):
    return rng.choice(NEED_PHRASES.get(row.get("need_category") if row else None, DEFAULT_NEEDS))


SURVEY_HINTS: dict[str, Hint] = {
    "survey_year": _year_of("survey_date"),
    "contact_phone": _maybe(0.8, lambda top, row, rng: mobile_phone(rng)),
    "centroid": _maybe(0.9, lambda top, row, rng: {
        "lat": round(rng.uniform(24.7, 26.7), 6), "lon": round(rng.uniform(98.9, 101.0), 6),
        "accuracy_m": round(rng.uniform(3, 40), 1), "altitude_m": round(rng.uniform(1300, 3000), 1)}),
    "main_industries": _main_industries,
    "remarks": _maybe(0.3, lambda top, row, rng: phrase(rng)),
}

VILLAGE_INFRASTRUCTURE = FormHints(draw={
    **SURVEY_HINTS,
    "natural_village_code": lambda top, row, rng: natural_village_code(rng),
    "name_zh": lambda top, row, rng: place_name(rng),
    "alias_zh": _maybe(0.2, lambda top, row, rng: place_name(rng)),
    "group_no": _maybe(0.7, lambda top, row, rng: f"{rng.randint(1, 15)}组"),
    "households_total": lambda top, row, rng: rng.randint(12, 220),
    "households_resident": _share_of("households_total", 0.7, 1.0),
    "population_total": _population_total,
    "population_resident": _population_resident,
    "tuopin_households": _share_of("households_total", 0, 0.6),
    "tuopin_population": _between("tuopin_households", "population_total", (3, 4.5)),
    "monitored_households": _share_of("households_total", 0, 0.08),
    "monitored_population": _between("monitored_households", "population_total", (2, 4.5)),
    "road_access": _choose({"hardened": 75, "gravel": 15, "earth": 8, "none": 2}),
    "road_surface": _road_surface,
    "water_supply_mode": _choose({"centralised": 70, "partly_centralised": 20, "dispersed": 10}),
    "tap_households": _share_of("households_total", 0.75, 1.0),
    "sanitary_toilet_households": _share_of("households_total", 0.4, 1.0),
    "power_380v": _yes(0.85),
    "broadband": _choose({"fibre": 80, "other_fixed": 10, "none": 10}),
    "mobile_signal": _choose({"5g": 30, "4g": 60, "weak": 8, "none": 2}),
    "ecommerce_delivery_point": _yes(0.7),
    "financial_service_point": _yes(0.75),
    "street_lights": _maybe(0.8, lambda top, row, rng: rng.randint(0, 60)),
    "project_needs.need_description": _need_description,
    "project_needs.beneficiary_households": _beneficiaries,
})


def _collective_income(top, row, rng):
    draw = rng.random()
    if draw < 0.08:
        return 0
    if draw < 0.3:
        return round(rng.uniform(5000, 50000))
    if draw < 0.65:
        return round(rng.uniform(50000, 100000))
    return round(rng.uniform(100000, 500000))


def _completion_year(top, row, rng):
    year = top.get("survey_year")
    low = _num(top.get("$params", {}).get("asset_year_min"), 2013)
    return rng.randint(int(low), year) if type(year) is int and year >= low else SKIP


def _doctors_unqualified(top, row, rng):
    doctors = top.get("village_doctors")
    return rng.randint(0, doctors) if type(doctors) is int else SKIP


VILLAGE_COLLECTIVE = FormHints(draw={
    **SURVEY_HINTS,
    "village_code": lambda top, row, rng: admin_village_code(rng),
    "name_zh": lambda top, row, rng: place_name(rng, "村"),
    "is_tuopin_village": _choose({"deep": 15, "yes": 45, "no": 40}),
    "demonstration": _choose({"none": 70, "boutique": 8, "rural_tourism": 10, "common_prosperity": 7, "digital": 5}),
    "collective_income_year": lambda top, row, rng: (top.get("survey_year") or _today(top).year) - (rng.random() < 0.7),
    "collective_operating_income": _collective_income,
    "project_assets.asset_name": lambda top, row, rng: place_name(rng, "") + rng.choice(ASSETS),
    "project_assets.completion_year": _completion_year,
    "project_assets.investment_wan": lambda top, row, rng: round(rng.uniform(5, 500), 1),
    "project_assets.annual_income_yuan": lambda top, row, rng: round(rng.uniform(0, 80000)),
    "assistance_workshop": lambda top, row, rng: rng.randint(0, 3),
    "clinic_standardised": _yes(0.8),
    "village_doctors": lambda top, row, rng: rng.choice((0, 1, 1, 1, 1, 2, 2, 3)),
    "village_doctors_under_55_unqualified": _doctors_unqualified,
    "team_members": lambda top, row, rng: rng.choice((0, 2, 3, 3, 4, 4, 5, 6)),
    "dispatching_unit": lambda top, row, rng: rng.choice(UNITS),
    "unstable_tuopin_population": lambda top, row, rng: rng.randint(0, 400),
    "reserve_cadres": lambda top, row, rng: rng.randint(0, 6),
})

HINTS: dict[str, FormHints] = {
    "household_visit": HOUSEHOLD_VISIT,
    "village_infrastructure": VILLAGE_INFRASTRUCTURE,
    "village_collective": VILLAGE_COLLECTIVE,
}
