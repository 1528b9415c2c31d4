"""Real reference data of Dali prefecture: codes, names, county seats and a rough outline (domain.md 2.4)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RealPlace:
    """A township named in the seeds, with the villages the seed places in it."""

    name_zh: str
    name_en: str
    villages: tuple[tuple[str, str], ...] = ()  # (name_zh, name_en) of villages the seed places here

    @property
    def is_town(self) -> bool:
        return self.name_zh.endswith("镇")


@dataclass(frozen=True)
class County:
    code: str
    name_zh: str
    name_en: str
    seat: tuple[float, float]  # lon, lat of the county seat, approximate
    township_count: int  # approximate number of township-level units, used by the "full" size
    townships: tuple[RealPlace, ...] = ()


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


def _t(name_zh: str, name_en: str, *villages: tuple[str, str]) -> RealPlace:
    return RealPlace(name_zh, name_en, tuple(villages))


# The seed names no townships for 大理市, 祥云县 and 永平县; their townships are generated.
# Where the seed names a village without its township, the village is not placed (domain.md 2.4).
COUNTIES = (
    County("532901", "大理市", "Dali City", (100.23, 25.59), 11),
    County("532922", "漾濞彝族自治县", "Yangbi Yi Autonomous County", (99.95, 25.67), 9, (
        _t("瓦厂乡", "Wachang Township", ("瓦厂村", "Wachang Village")),
        _t("龙潭乡", "Longtan Township", ("密古村", "Migu Village")),
        _t("平坡镇", "Pingpo Town", ("平坡村", "Pingpo Village")),
        _t("鸡街乡", "Jijie Township", ("菜白村", "Caibai Village")),
        _t("漾江镇", "Yangjiang Town", ("脉地村", "Maidi Village")),
        _t("顺濞镇", "Shunbi Town", ("哈腊左村", "Halazuo Village")),
        _t("富恒乡", "Fuheng Township", ("长寿村", "Changshou Village")),
        _t("太平乡", "Taiping Township", ("太平村", "Taiping Village")),
    )),
    County("532923", "祥云县", "Xiangyun County", (100.55, 25.48), 10),
    County("532924", "宾川县", "Binchuan County", (100.57, 25.83), 10, (
        _t("拉乌彝族乡", "Lawu Yi Ethnic Township"),
    )),
    County("532925", "弥渡县", "Midu County", (100.49, 25.34), 8, (
        _t("弥城镇", "Micheng Town"),
    )),
    County("532926", "南涧彝族自治县", "Nanjian Yi Autonomous County", (100.51, 25.04), 8, (
        _t("公郎镇", "Gonglang Town"),
    )),
    County("532927", "巍山彝族回族自治县", "Weishan Yi and Hui Autonomous County", (100.31, 25.23), 10, (
        _t("巍宝山乡", "Weibaoshan Township"),
    )),
    County("532928", "永平县", "Yongping County", (99.54, 25.46), 7),
    County("532929", "云龙县", "Yunlong County", (99.37, 25.89), 11, (
        _t("功果桥镇", "Gongguoqiao Town"),
    )),
    County("532930", "洱源县", "Eryuan County", (99.95, 26.11), 9, (
        _t("右所镇", "Yousuo Town", ("右所村", "Yousuo Village")),
        _t("三营镇", "Sanying Town", ("共和村", "Gonghe Village")),
    )),
    County("532931", "剑川县", "Jianchuan County", (99.91, 26.54), 8, (
        _t("沙溪镇", "Shaxi Town"),
        _t("老君山镇", "Laojunshan Town"),
        _t("金华镇", "Jinhua Town", ("双河村", "Shuanghe Village"), ("三河村", "Sanhe Village")),
        _t("甸南镇", "Diannan Town", ("西中村", "Xizhong Village")),
        _t("马登镇", "Madeng Town", ("后甸村", "Houdian Village")),
        _t("弥沙乡", "Misha Township", ("文新村", "Wenxin Village")),
        _t("象图乡", "Xiangtu Township", ("江头村", "Jiangtou Village")),
    )),
    County("532932", "鹤庆县", "Heqing County", (100.18, 26.57), 9, (
        _t("龙开口镇", "Longkaikou Town"),
        _t("辛屯镇", "Xintun Town", ("辛屯村", "Xintun Village")),
        _t("黄坪镇", "Huangping Town", ("新泉村", "Xinquan Village")),
        _t("松桂镇", "Songgui Town"),
    )),
)
