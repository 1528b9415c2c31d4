"""Plausible generated names: places from (hanzi, pinyin) syllables, people from Dali surnames."""

from __future__ import annotations

import random

# Syllables common in Yunnan place names; the pinyin is the place-name reading (长 = chang).
PLACE_SYLLABLES = (
    ("龙", "long"), ("马", "ma"), ("石", "shi"), ("河", "he"), ("山", "shan"), ("金", "jin"), ("新", "xin"),
    ("和", "he"), ("平", "ping"), ("安", "an"), ("云", "yun"), ("松", "song"), ("桂", "gui"), ("花", "hua"),
    ("水", "shui"), ("清", "qing"), ("大", "da"), ("小", "xiao"), ("上", "shang"), ("下", "xia"),
    ("东", "dong"), ("西", "xi"), ("南", "nan"), ("北", "bei"), ("中", "zhong"), ("白", "bai"),
    ("黑", "hei"), ("青", "qing"), ("红", "hong"), ("长", "chang"), ("丰", "feng"), ("福", "fu"),
    ("宝", "bao"), ("凤", "feng"), ("鹤", "he"), ("羊", "yang"), ("牛", "niu"), ("茶", "cha"),
    ("竹", "zhu"), ("梅", "mei"), ("桃", "tao"), ("兴", "xing"), ("富", "fu"), ("永", "yong"),
    ("乐", "le"), ("德", "de"), ("华", "hua"), ("文", "wen"), ("胜", "sheng"), ("利", "li"),
    ("坝", "ba"), ("沙", "sha"), ("林", "lin"), ("坡", "po"), ("岩", "yan"), ("海", "hai"),
    ("湾", "wan"), ("桥", "qiao"), ("溪", "xi"), ("田", "tian"), ("塘", "tang"), ("庆", "qing"),
    ("鸣", "ming"), ("阳", "yang"), ("光", "guang"), ("明", "ming"), ("团", "tuan"), ("结", "jie"),
    ("仁", "ren"), ("义", "yi"), ("古", "gu"), ("城", "cheng"), ("关", "guan"), ("观", "guan"),
    ("音", "yin"), ("瓦", "wa"), ("窑", "yao"), ("苴", "ju"), ("旧", "jiu"), ("营", "ying"),
)

# Position and size words lead a name (大营, 上村) and sound wrong at its end.
PREFIX_ONLY = frozenset("大小上下东西南北中新旧古")
_TAILS = tuple(syllable for syllable in PLACE_SYLLABLES if syllable[0] not in PREFIX_ONLY)

# Natural villages often end in a landform or settlement word rather than 村.
NATURAL_VILLAGE_SUFFIXES = (
    ("村", ""), ("村", ""), ("村", ""), ("寨", "zhai"), ("营", "ying"), ("坪", "ping"), ("箐", "qing"),
    ("庄", "zhuang"), ("甸", "dian"), ("哨", "shao"), ("登", "deng"), ("场", "chang"),
)


def pinyin_join(syllables: list[str]) -> str:
    """Joins pinyin syllables the way place names are romanised, with an apostrophe before a/o/e (Ping'an)."""
    word = syllables[0]
    for syllable in syllables[1:]:
        word += ("'" if syllable[0] in "aoe" else "") + syllable
    return word.capitalize()


def place_stem(rng: random.Random) -> tuple[str, str]:
    """Two distinct syllables: the stem of a township or village name, as (hanzi, pinyin)."""
    first = second = rng.choice(PLACE_SYLLABLES)
    while second == first:
        second = rng.choice(_TAILS)
    return first[0] + second[0], pinyin_join([first[1], second[1]])


def unique_stems(rng: random.Random, count: int, taken: set[str]) -> list[tuple[str, str]]:
    """`count` stems not in `taken`, so siblings never share a name; `taken` is updated."""
    stems: list[tuple[str, str]] = []
    while len(stems) < count:
        stem = place_stem(rng)
        if stem[0] not in taken:
            taken.add(stem[0])
            stems.append(stem)
    return stems


def admin_village_name(stem: tuple[str, str]) -> tuple[str, str]:
    return stem[0] + "村", stem[1] + " Village"


def natural_village_name(stem: tuple[str, str], rng: random.Random) -> tuple[str, str]:
    suffix, suffix_pinyin = rng.choice(NATURAL_VILLAGE_SUFFIXES)
    if suffix == stem[0][-1]:  # not 龙营营
        suffix, suffix_pinyin = "村", ""
    pinyin = pinyin_join([stem[1].lower(), suffix_pinyin]) if suffix_pinyin else stem[1]
    return stem[0] + suffix, pinyin + " Village"


# Surnames of Dali, weighted roughly: Bai families (杨 李 赵 段 张 王 字 杜 苏 尹 董 施), Yi (罗 字 茶 普 起),
# Hui (马 纳) and Han families. The weights only make 杨 and 李 frequent, as they are locally.
SURNAMES = (
    ("杨", 14), ("李", 12), ("赵", 7), ("张", 7), ("段", 5), ("王", 6), ("字", 3), ("罗", 4), ("杜", 2),
    ("苏", 2), ("何", 3), ("尹", 2), ("董", 2), ("鲁", 2), ("施", 2), ("茶", 2), ("陈", 3), ("刘", 3),
    ("周", 2), ("和", 2), ("普", 1), ("起", 1), ("毕", 1), ("马", 2), ("纳", 1), ("洪", 1), ("高", 1),
    ("寸", 1), ("左", 1), ("自", 1),
)
_SURNAME_NAMES = tuple(name for name, _ in SURNAMES)
_SURNAME_WEIGHTS = tuple(weight for _, weight in SURNAMES)

# Given-name characters by sex and generation: older people carry the names of their era.
GIVEN = {
    ("male", "old"): "建国华明军忠发成福贵昌荣正德学兴光林春文开志永",
    ("male", "young"): "浩宇杰俊涛鹏伟强磊斌超勇鑫宏博龙辉毅翔晨阳",
    ("female", "old"): "秀英兰梅凤琼玉珍芳桂金翠菊花月仙美春莲淑丽",
    ("female", "young"): "婷静敏琳慧萍艳娟丽燕霞雪欣怡佳颖晶蕾倩洁瑶",
}
OLD_GENERATION_BEFORE = 1975


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAME_NAMES, _SURNAME_WEIGHTS)[0]


def given_name(rng: random.Random, sex: str, birth_year: int) -> str:
    pool = GIVEN[(sex, "old" if birth_year < OLD_GENERATION_BEFORE else "young")]
    # About two thirds of rural given names have two characters.
    return "".join(rng.choice(pool) for _ in range(1 if rng.random() < 0.35 else 2))
