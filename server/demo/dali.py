"""Real reference data of Dali prefecture: county and township codes and names, county seats, a rough outline (2.4)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RealPlace:
    """A township-level unit of the NBS list, with the villages the seeds place in it."""

    code: str  # 9 digits, NBS 统计用区划代码 2022 [GK]
    name_zh: str
    name_en: str
    villages: tuple[tuple[str, str], ...] = ()  # (name_zh, name_en) of villages the seed places here


@dataclass(frozen=True)
class County:
    code: str
    name_zh: str
    name_en: str
    seat: tuple[float, float]  # lon, lat of the county seat, approximate
    townships: tuple[RealPlace, ...]  # every township-level unit: those the seeds name first (see COUNTIES)

    @property
    def township_count(self) -> int:
        """The real number of township-level units, which the "full" size takes."""
        return len(self.townships)


PROVINCE = ("53", "云南省", "Yunnan Province")
PREFECTURE = ("5329", "大理白族自治州", "Dali Bai Autonomous Prefecture")

# A coarse hand-drawn outline of Yunnan (lon, lat), clockwise from Deqin in the north, so that the
# province has an extent on the map; it is far rougher than the prefecture's.
YUNNAN_OUTLINE = (
    (98.70, 29.20), (99.20, 28.60), (100.00, 27.90), (100.90, 27.90), (101.20, 27.00), (101.90, 26.10),
    (103.10, 26.20), (103.60, 27.20), (104.40, 28.60), (105.30, 27.90), (104.90, 27.30), (104.40, 26.30),
    (104.60, 25.50), (104.50, 24.80), (105.50, 24.80), (106.20, 23.80), (105.30, 23.00), (104.00, 22.80),
    (103.95, 22.50), (102.20, 22.40), (101.80, 22.00), (101.20, 21.15), (100.20, 21.40), (99.90, 22.00),
    (99.50, 22.20), (99.20, 23.10), (98.70, 23.70), (97.50, 24.00), (97.50, 24.80), (98.40, 25.50),
    (98.60, 26.60), (98.30, 27.80), (98.60, 28.50),
)

# Hand-drawn outline of the prefecture (lon, lat), clockwise from Jianchuan's northern edge. It only
# has to be recognisable on a map and contain every county seat; it is not a survey boundary.
OUTLINE = (
    (99.75, 26.70), (100.10, 26.70), (100.40, 26.62), (100.45, 26.35), (100.75, 26.20),
    (101.05, 25.95), (101.00, 25.55), (100.92, 25.30), (100.70, 25.00), (100.48, 24.68),
    (100.20, 24.85), (99.95, 25.10), (99.45, 25.05), (99.10, 25.30), (98.87, 25.75),
    (99.05, 26.15), (99.45, 26.30), (99.60, 26.55),
)


def _county(code: str, name_zh: str, name_en: str, seat: tuple[float, float],
            *townships: tuple[str, str, str, tuple[tuple[str, str], ...]]) -> County:
    return County(code, name_zh, name_en, seat,
                  tuple(RealPlace(code + number, zh, en, villages) for number, zh, en, villages in townships))


def _t(number: str, name_zh: str, name_en: str, *villages: tuple[str, str]) -> tuple[str, str, str, tuple]:
    return number, name_zh, name_en, villages


# Every township-level unit of the prefecture with its code, from the NBS 统计用区划代码 of 2022 [GK: the seeds give
# names only; the codes are NBS's, as published at the end of 2022 — load the official file of the survey year before
# relying on them]. That is 112 units: 101 towns (镇, 1xx) and ethnic or plain townships (乡, 2xx), and 大理市's three
# sub-districts (街道, 0xx).
#
# Each county lists first the townships the seed [000] names, in its order (so the small sizes show them), then the
# rest by code, sub-districts last: the demo surveys rural households. Villages are placed only where the seed names
# their township (domain.md 2.4); their 12-digit codes are not in the seeds, so the demo numbers its villages itself
# (201.. under each township, areas.py) and never claims they are the real ones.
COUNTIES = (
    _county("532901", "大理市", "Dali City", (100.23, 25.59),
            _t("102", "大理镇", "Dali Town"), _t("103", "凤仪镇", "Fengyi Town"), _t("104", "喜洲镇", "Xizhou Town"),
            _t("105", "海东镇", "Haidong Town"), _t("106", "挖色镇", "Wase Town"), _t("107", "湾桥镇", "Wanqiao Town"),
            _t("108", "银桥镇", "Yinqiao Town"), _t("109", "双廊镇", "Shuanglang Town"),
            _t("110", "上关镇", "Shangguan Town"), _t("201", "太邑彝族乡", "Taiyi Yi Ethnic Township"),
            _t("003", "下关街道", "Xiaguan Subdistrict"), _t("004", "太和街道", "Taihe Subdistrict"),
            _t("005", "满江街道", "Manjiang Subdistrict")),
    _county("532922", "漾濞彝族自治县", "Yangbi Yi Autonomous County", (99.95, 25.67),
            _t("204", "瓦厂乡", "Wachang Township", ("瓦厂村", "Wachang Village")),
            _t("205", "龙潭乡", "Longtan Township", ("密古村", "Migu Village")),
            _t("103", "平坡镇", "Pingpo Town", ("平坡村", "Pingpo Village")),
            _t("206", "鸡街乡", "Jijie Township", ("菜白村", "Caibai Village")),
            _t("102", "漾江镇", "Yangjiang Town", ("脉地村", "Maidi Village")),
            _t("104", "顺濞镇", "Shunbi Town", ("哈腊左村", "Halazuo Village")),
            _t("201", "富恒乡", "Fuheng Township", ("长寿村", "Changshou Village")),
            _t("202", "太平乡", "Taiping Township", ("太平村", "Taiping Village")),
            _t("101", "苍山西镇", "Cangshanxi Town")),
    _county("532923", "祥云县", "Xiangyun County", (100.55, 25.48),
            _t("101", "祥城镇", "Xiangcheng Town"), _t("102", "沙龙镇", "Shalong Town"),
            _t("103", "云南驿镇", "Yunnanyi Town"), _t("104", "下庄镇", "Xiazhuang Town"),
            _t("105", "普棚镇", "Pupeng Town"), _t("106", "刘厂镇", "Liuchang Town"), _t("107", "禾甸镇", "Hedian Town"),
            _t("108", "米甸镇", "Midian Town"), _t("201", "鹿鸣乡", "Luming Township"),
            _t("202", "东山彝族乡", "Dongshan Yi Ethnic Township")),
    _county("532924", "宾川县", "Binchuan County", (100.57, 25.83),
            _t("202", "拉乌彝族乡", "Lawu Yi Ethnic Township"),
            _t("101", "金牛镇", "Jinniu Town"), _t("102", "宾居镇", "Binju Town"), _t("103", "州城镇", "Zhoucheng Town"),
            _t("104", "大营镇", "Daying Town"), _t("105", "鸡足山镇", "Jizushan Town"), _t("106", "力角镇", "Lijiao Town"),
            _t("107", "平川镇", "Pingchuan Town"), _t("108", "乔甸镇", "Qiaodian Town"),
            _t("201", "钟英傈僳族彝族乡", "Zhongying Lisu and Yi Ethnic Township")),
    _county("532925", "弥渡县", "Midu County", (100.49, 25.34),
            _t("101", "弥城镇", "Micheng Town"),
            _t("102", "红岩镇", "Hongyan Town"), _t("103", "新街镇", "Xinjie Town"), _t("104", "寅街镇", "Yinjie Town"),
            _t("105", "苴力镇", "Juli Town"), _t("106", "密祉镇", "Mizhi Town"), _t("203", "德苴乡", "Deju Township"),
            _t("204", "牛街彝族乡", "Niujie Yi Ethnic Township")),
    _county("532926", "南涧彝族自治县", "Nanjian Yi Autonomous County", (100.51, 25.04),
            _t("103", "公郎镇", "Gonglang Town"),
            _t("101", "南涧镇", "Nanjian Town"), _t("102", "小湾东镇", "Xiaowandong Town"),
            _t("104", "宝华镇", "Baohua Town"), _t("105", "无量山镇", "Wuliangshan Town"),
            _t("201", "拥翠乡", "Yongcui Township"), _t("202", "乐秋乡", "Leqiu Township"),
            _t("203", "碧溪乡", "Bixi Township")),
    _county("532927", "巍山彝族回族自治县", "Weishan Yi and Hui Autonomous County", (100.31, 25.23),
            _t("201", "巍宝山乡", "Weibaoshan Township"),
            _t("101", "南诏镇", "Nanzhao Town"), _t("102", "庙街镇", "Miaojie Town"), _t("103", "大仓镇", "Dacang Town"),
            _t("104", "永建镇", "Yongjian Town"), _t("202", "马鞍山乡", "Ma'anshan Township"),
            _t("203", "紫金乡", "Zijin Township"), _t("204", "五印乡", "Wuyin Township"),
            _t("205", "牛街乡", "Niujie Township"), _t("206", "青华乡", "Qinghua Township")),
    _county("532928", "永平县", "Yongping County", (99.54, 25.46),
            _t("101", "博南镇", "Bonan Town"), _t("102", "杉阳镇", "Shanyang Town"), _t("103", "龙街镇", "Longjie Town"),
            _t("201", "龙门乡", "Longmen Township"), _t("202", "北斗彝族乡", "Beidou Yi Ethnic Township"),
            _t("203", "厂街彝族乡", "Changjie Yi Ethnic Township"),
            _t("204", "水泄彝族乡", "Shuixie Yi Ethnic Township")),
    _county("532929", "云龙县", "Yunlong County", (99.37, 25.89),
            _t("102", "功果桥镇", "Gongguoqiao Town"),
            _t("101", "诺邓镇", "Nuodeng Town"), _t("103", "漕涧镇", "Caojian Town"), _t("104", "白石镇", "Baishi Town"),
            _t("201", "宝丰乡", "Baofeng Township"), _t("202", "关坪乡", "Guanping Township"),
            _t("203", "团结彝族乡", "Tuanjie Yi Ethnic Township"), _t("204", "长新乡", "Changxin Township"),
            _t("205", "检槽乡", "Jiancao Township"), _t("206", "苗尾傈僳族乡", "Miaowei Lisu Ethnic Township"),
            _t("207", "民建乡", "Minjian Township")),
    _county("532930", "洱源县", "Eryuan County", (99.95, 26.11),
            _t("103", "右所镇", "Yousuo Town", ("右所村", "Yousuo Village")),
            _t("104", "三营镇", "Sanying Town", ("共和村", "Gonghe Village")),
            _t("101", "茈碧湖镇", "Cibihu Town"), _t("102", "邓川镇", "Dengchuan Town"),
            _t("105", "凤羽镇", "Fengyu Town"), _t("106", "乔后镇", "Qiaohou Town"),
            _t("201", "牛街乡", "Niujie Township"), _t("202", "炼铁乡", "Liantie Township"),
            _t("203", "西山乡", "Xishan Township")),
    _county("532931", "剑川县", "Jianchuan County", (99.91, 26.54),
            _t("104", "沙溪镇", "Shaxi Town"),
            _t("102", "老君山镇", "Laojunshan Town"),
            _t("101", "金华镇", "Jinhua Town", ("双河村", "Shuanghe Village"), ("三河村", "Sanhe Village")),
            _t("103", "甸南镇", "Diannan Town", ("西中村", "Xizhong Village")),
            _t("105", "马登镇", "Madeng Town", ("后甸村", "Houdian Village")),
            _t("202", "弥沙乡", "Misha Township", ("文新村", "Wenxin Village")),
            _t("203", "象图乡", "Xiangtu Township", ("江头村", "Jiangtou Village")),
            _t("201", "羊岑乡", "Yangcen Township")),
    _county("532932", "鹤庆县", "Heqing County", (100.18, 26.57),
            _t("107", "龙开口镇", "Longkaikou Town"),
            _t("102", "辛屯镇", "Xintun Town", ("辛屯村", "Xintun Village")),
            _t("104", "黄坪镇", "Huangping Town", ("新泉村", "Xinquan Village")),
            _t("103", "松桂镇", "Songgui Town"),
            _t("101", "云鹤镇", "Yunhe Town"), _t("105", "草海镇", "Caohai Town"), _t("106", "西邑镇", "Xiyi Town"),
            _t("201", "金墩乡", "Jindun Township"), _t("203", "六合彝族乡", "Liuhe Yi Ethnic Township")),
)
