"""The review bench's data, made in set-based SQL (INSERT ... SELECT FROM generate_series) in a minute, not an hour.

One county, 漾濞 (532922), and nothing else: its nine real townships on a 3 x 3 grid around lon 99.95, lat 25.67
(~40 km across), 7 administrative villages in each, 10 natural villages in each of those, all with small square
boundaries; a supervisor of the county and ~60 enumerators, each of one township; households spread over the natural
villages, a few villages much fuller than the rest (as in the hills: a market village beside hamlets of ten houses);
and submissions of those households over 18 months, with the shares of issue 14: 2 % quarantined; review state 70 %
pending, 20 % approved, 7 % has_issues, 3 % rejected (each decision with its submission_review row, as a supervisor's
decision leaves one); 15 % with a check's flag; risk flags on 20 %; files missing on 3 %.

Everything goes in through the app's tables and triggers (the pull feed's rows included), as the owner; random()
is seeded, so two runs make the same data (but new UUIDs for the sign-in tokens).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

COUNTY = "532922"
COUNTY_LON, COUNTY_LAT = 99.95, 25.67
# The real townships of 漾濞 (server/demo/dali.py), one per cell of a 3 x 3 grid.
TOWNSHIPS = (
    ("101", "苍山西镇", "Cangshanxi Town"), ("102", "漾江镇", "Yangjiang Town"), ("103", "平坡镇", "Pingpo Town"),
    ("104", "顺濞镇", "Shunbi Town"), ("201", "富恒乡", "Fuheng Township"), ("202", "太平乡", "Taiping Township"),
    ("204", "瓦厂乡", "Wachang Township"), ("205", "龙潭乡", "Longtan Township"), ("206", "鸡街乡", "Jijie Township"),
)
ADMIN_VILLAGES = 7  # per township
NATURAL_VILLAGES = 10  # per administrative village
ENUMERATORS = 60
SUPERVISOR = "bench_supervisor"
PASSWORD = "walnut-terrace-review-bench-2026"  # noqa: S105 # pragma: allowlist secret (a scratch database account)
NAME_PREFIX = "杨春"  # a head's name prefix that ~1 household in 600 has: the household filter's search
MONTHS = 18
# A household's natural village is the n-th (in a scrambled order) with n = 1 + N * u ** SKEW, u uniform: SKEW > 1
# crowds the first villages (the busiest holds ~7 times the mean), as market villages are fuller than hamlets.
SKEW = 1.3

# Flags on accepted submissions: (code, share of submissions, entity the check names). 15 % in all.
FLAGS = (
    ("gps_missing", 0.020, None),  # and no location
    ("gps_outside_village", 0.045, "household"),  # and a location ~3.5 km off the household
    ("clock_skew", 0.025, None),
    ("gps_poor_accuracy", 0.020, None),
    ("dibao_without_allowance", 0.020, "household"),
    ("gps_far_from_previous", 0.010, "household"),
    ("travel_subsidy_without_work", 0.010, "household"),
)

TABLES = ("area", "app_user", "user_area", "household", "submission", "flag", "submission_review", "sync_change")

SURNAMES = "杨李张字罗王赵段茶左鲁普自常马陈刘毕施何"
GIVEN_FIRST = "春正国文玉光建永德志金明秀兰红云华成世家学开发福寿昌荣富贵才"
GIVEN_SECOND = "-林芳英华平军兵强明忠祥顺贵花珍凤梅琼丽仙美"  # "-" (dropped) makes a two-character name
SYLLABLES = "石河山坝箐沟岭坪田塘营寨村湾头脚尾上下大小新老中东西南北松核桃竹"


@dataclass(frozen=True)
class Sizes:
    households: int
    submissions: int


def seed(owner: Engine, sizes: Sizes, password_hash: str, say: Callable[[str], None] = print) -> None:
    """Fills an empty migrated database as its owner (the app's triggers run); then VACUUM ANALYZE, as autovacuum
    would leave the tables, so the plans are those of a settled database."""
    with owner.begin() as connection:
        connection.execute(text("SELECT setseed(0.2026)"))  # random() of this connection: the same data every run
        step(say, "areas", lambda: areas(connection))
        step(say, "users", lambda: people(connection, password_hash))
        step(say, f"{sizes.households:,} households", lambda: households(connection, sizes.households))
        step(say, f"{sizes.submissions:,} submissions", lambda: submissions(connection, sizes.submissions))
        step(say, "flags and review decisions", lambda: flags_and_reviews(connection))
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        step(say, "VACUUM ANALYZE", lambda: connection.execute(text(f"VACUUM (ANALYZE) {', '.join(TABLES)}")))


def step(say: Callable[[str], None], what: str, run: Callable[[], object]) -> None:
    started = time.monotonic()
    run()
    say(f"  seeded {what} in {time.monotonic() - started:.1f} s")


def areas(connection: Connection) -> None:
    """Province and prefecture (parents only), the county, and its townships and villages as small squares."""
    connection.execute(text("""
        INSERT INTO area (code, level, parent_code, name_zh, name_en) VALUES
            ('53', 'province', NULL, '云南省', 'Yunnan'),
            ('5329', 'prefecture', '53', '大理白族自治州', 'Dali Bai Autonomous Prefecture')"""))
    connection.execute(text("""
        INSERT INTO area (code, level, parent_code, name_zh, name_en, boundary, centroid)
        VALUES (:county, 'county', '5329', '漾濞彝族自治县', 'Yangbi Yi Autonomous County',
                ST_Multi(ST_MakeEnvelope(:lon - 0.2, :lat - 0.18, :lon + 0.2, :lat + 0.18, 4326)),
                ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"""), {"county": COUNTY, "lon": COUNTY_LON, "lat": COUNTY_LAT})
    # Townships: cells of ~13 x 13 km. Administrative villages: ~2.4 km squares scattered in their township.
    # Natural villages: ~400 m squares within ~1 km of their administrative village.
    connection.execute(text("""
        CREATE TEMP TABLE bench_centre ON COMMIT DROP AS
        SELECT :county || t.suffix AS code, t.name_zh, t.name_en, 'township'::text AS level, :county AS parent_code,
               :lon + ((t.k - 1) % 3 - 1) * 0.13 AS lon, :lat + ((t.k - 1) / 3 - 1) * 0.12 AS lat, 0.065 AS half
        FROM unnest(CAST(:suffixes AS text[]), CAST(:names_zh AS text[]), CAST(:names_en AS text[]))
             WITH ORDINALITY AS t(suffix, name_zh, name_en, k)"""),
                       {"county": COUNTY, "lon": COUNTY_LON, "lat": COUNTY_LAT,
                        "suffixes": [t[0] for t in TOWNSHIPS], "names_zh": [t[1] for t in TOWNSHIPS],
                        "names_en": [t[2] for t in TOWNSHIPS]})
    connection.execute(text("""
        INSERT INTO bench_centre
        SELECT t.code || (200 + v)::text, substr(c.s, (1 + (v * 7 + k) % length(c.s))::int, 1)
               || substr(c.s, (1 + (v * 13 + k * 3) % length(c.s))::int, 1) || '村',
               'Village ' || (200 + v)::text || ' of ' || t.name_en, 'admin_village', t.code,
               t.lon + (random() - 0.5) * 0.09, t.lat + (random() - 0.5) * 0.08, 0.012
        FROM (SELECT *, row_number() OVER (ORDER BY code) AS k FROM bench_centre) AS t,
             generate_series(1, :admin) AS v, (SELECT CAST(:syllables AS text) AS s) AS c"""),
                       {"syllables": SYLLABLES, "admin": ADMIN_VILLAGES})
    connection.execute(text("""
        INSERT INTO bench_centre
        SELECT a.code || lpad(v::text, 3, '0'), substr(c.s, (1 + (v * 11 + k) % length(c.s))::int, 1)
               || substr(c.s, (1 + (v * 5 + k * 7) % length(c.s))::int, 1) || '组',
               'Group ' || v::text || ', ' || a.name_en, 'natural_village', a.code,
               a.lon + (random() - 0.5) * 0.02, a.lat + (random() - 0.5) * 0.02, 0.002
        FROM (SELECT *, row_number() OVER (ORDER BY code) AS k FROM bench_centre WHERE level = 'admin_village') AS a,
             generate_series(1, :natural) AS v, (SELECT CAST(:syllables AS text) AS s) AS c"""),
                       {"syllables": SYLLABLES, "natural": NATURAL_VILLAGES})
    connection.execute(text("""
        INSERT INTO area (code, level, parent_code, name_zh, name_en, boundary, centroid)
        SELECT code, level, parent_code, name_zh, name_en,
               ST_Multi(ST_MakeEnvelope(lon - half, lat - half, lon + half, lat + half, 4326)),
               ST_SetSRID(ST_MakePoint(lon, lat), 4326)
        FROM bench_centre ORDER BY length(code), code"""))


def people(connection: Connection, password_hash: str) -> None:
    """The supervisor of the county, and ENUMERATORS enumerators, each of one township in turn (all one password:
    hashing it once is enough, and only the supervisor signs in)."""
    connection.execute(text("""
        WITH made AS (
            INSERT INTO app_user (username, display_name, role, password_hash)
            SELECT :supervisor, '漾濞县督导', 'supervisor', :hash
            UNION ALL
            SELECT 'bench_enum_' || lpad(n::text, 2, '0'), '调查员' || n, 'enumerator', :hash
            FROM generate_series(1, :enumerators) AS n
            RETURNING id, username)
        INSERT INTO user_area (user_id, area_code)
        SELECT id, CASE WHEN username = :supervisor THEN :county
                        ELSE (SELECT code FROM area WHERE level = 'township' ORDER BY code
                              OFFSET right(username, 2)::int % 9 LIMIT 1) END
        FROM made"""), {"supervisor": SUPERVISOR, "hash": password_hash, "enumerators": ENUMERATORS, "county": COUNTY})


def households(connection: Connection, count: int) -> None:
    """`count` households in the natural villages (skewed: see SKEW), at points inside their village's square."""
    connection.execute(text("""
        CREATE TEMP TABLE bench_village ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY md5(code)) AS n, code, lon, lat FROM bench_centre
        WHERE level = 'natural_village'"""))
    connection.execute(text("""
        INSERT INTO household (id, area_code, household_no, householder_name, location, properties, risk_flags,
                               watch_flags)
        SELECT md5('bench-household:' || p.h)::uuid, v.code,
               lpad(row_number() OVER (PARTITION BY v.code ORDER BY p.h)::text, 4, '0'), p.name,
               ST_SetSRID(ST_MakePoint(v.lon + (p.r_x - 0.5) * 0.0036, v.lat + (p.r_y - 0.5) * 0.0036), 4326),
               jsonb_build_object('householder_name', p.name, 'members', 1 + floor(p.r_x * 6)::int),
               CASE WHEN p.r_risk < 0.04 THEN ARRAY['income_below_monitoring_line'] ELSE '{}' END,
               CASE WHEN p.r_risk >= 0.04 AND p.r_risk < 0.12 THEN ARRAY['income_below_watch_line'] ELSE '{}' END
        FROM (SELECT h, random() AS r_v, random() AS r_x, random() AS r_y, random() AS r_risk,
                     substr(c.surnames, 1 + floor(random() * length(c.surnames))::int, 1)
                     || substr(c.first, 1 + floor(random() * length(c.first))::int, 1)
                     || replace(substr(c.second, 1 + floor(random() * length(c.second))::int, 1), '-', '') AS name
              FROM generate_series(1, :count) AS h,
                   (SELECT CAST(:surnames AS text) AS surnames, CAST(:first AS text) AS first,
                           CAST(:second AS text) AS second) AS c) AS p
        JOIN bench_village AS v ON v.n = 1 + floor((SELECT count(*) FROM bench_village) * power(p.r_v, :skew))::int
        """), {"count": count, "skew": SKEW, "surnames": SURNAMES, "first": GIVEN_FIRST, "second": GIVEN_SECOND})


def submissions(connection: Connection, count: int) -> None:
    """`count` household visits by the enumerators of the household's township, received over MONTHS months.

    A plan row per submission first (its household, time and draws), so the flags and decisions below agree with it.
    """
    connection.execute(text("""
        CREATE TEMP TABLE bench_household ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY id) AS n, id, area_code, location FROM household"""))
    connection.execute(text("""
        CREATE TEMP TABLE bench_enumerator ON COMMIT DROP AS
        SELECT u.id, u.username, a.area_code AS township,
               row_number() OVER (PARTITION BY a.area_code ORDER BY u.username) - 1 AS j,
               count(*) OVER (PARTITION BY a.area_code) AS c
        FROM app_user AS u JOIN user_area AS a ON a.user_id = u.id WHERE u.role = 'enumerator'"""))
    flag_cases = " ".join(f"WHEN r_flag < {sum(share for _, share, _ in FLAGS[:k + 1]):.3f} THEN '{code}'"
                          for k, (code, _, _) in enumerate(FLAGS))
    # Two levels: the inner SELECT draws (a subquery with volatile random() is not merged into the outer one).
    connection.execute(text(f"""
        CREATE TEMP TABLE bench_plan ON COMMIT DROP AS
        SELECT *, CASE WHEN quarantined OR r_review < 0.70 THEN 'pending' WHEN r_review < 0.90 THEN 'approved'
                       WHEN r_review < 0.97 THEN 'has_issues' ELSE 'rejected' END AS review_state,
                  CASE WHEN quarantined THEN NULL {flag_cases} END AS flag
        FROM (SELECT i, md5('bench-submission:' || i)::uuid AS uuid,
                     1 + floor(random() * (SELECT count(*) FROM bench_household))::int AS household,
                     date_trunc('second', now() - random() * interval '{MONTHS * 30} days') AS received_at,
                     random() < 0.02 AS quarantined, random() AS r_review, random() AS r_flag, random() AS r_risk,
                     random() AS r_files, random() AS r_enumerator, random() AS r_income
              FROM generate_series(1, :count) AS i) AS draws"""), {"count": count})  # noqa: S608 # nosec B608 (constants only)
    connection.execute(text("""
        INSERT INTO submission (uuid, content_sha256, state, errors, form_id, form_version, subject_type, subject_id,
                                entity_id, risk_flags, watch_flags, area_code, user_id, device_id, started_at,
                                collected_at, sent_at, received_at, clock_skew_seconds, location, gps_accuracy_m,
                                payload, review_state, attachments_missing)
        SELECT p.uuid, encode(sha256(convert_to(p.uuid::text, 'UTF8')), 'hex'),
               CASE WHEN p.quarantined THEN 'quarantined' ELSE 'accepted' END,
               CASE WHEN p.quarantined THEN '[{"path": "income/wages", "code": "required"}]'::jsonb ELSE '[]' END,
               'household_visit', CASE WHEN p.received_at < now() - interval '6 months' THEN 1 ELSE 2 END,
               'household', h.id, h.id,
               CASE WHEN p.r_risk < 0.08 THEN ARRAY['income_below_monitoring_line']
                    WHEN p.r_risk < 0.10 THEN ARRAY['house_unsafe', 'member_uninsured'] ELSE '{}' END,
               CASE WHEN p.r_risk >= 0.10 AND p.r_risk < 0.16 THEN ARRAY['income_below_watch_line']
                    WHEN p.r_risk >= 0.16 AND p.r_risk < 0.20 THEN ARRAY['zero_employment'] ELSE '{}' END,
               h.area_code, e.id, 'phone-' || e.username,
               p.received_at - interval '1 day' * p.r_files - interval '25 minutes', p.received_at - interval '1 day' * p.r_files,
               p.received_at - interval '2 seconds', p.received_at,
               CASE WHEN p.flag = 'clock_skew' THEN 2.5 * 86400 ELSE 30 * (p.r_income - 0.5) END,
               CASE WHEN p.flag = 'gps_missing' THEN NULL
                    WHEN p.flag = 'gps_outside_village' THEN ST_Translate(h.location, 0.035, 0.01)
                    ELSE ST_Translate(h.location, (p.r_income - 0.5) * 0.0004, (p.r_files - 0.5) * 0.0004) END,
               CASE WHEN p.flag = 'gps_missing' THEN NULL WHEN p.flag = 'gps_poor_accuracy' THEN 120 ELSE 8 END,
               jsonb_build_object('uuid', p.uuid, 'form_id', 'household_visit', 'device_id', 'phone-' || e.username,
                                  'subject', jsonb_build_object('type', 'household', 'id', h.id),
                                  'answers', jsonb_build_object('income_per_capita', round(3000 + p.r_income * 15000),
                                                                'members', 1 + floor(p.r_income * 6)::int)),
               p.review_state, CASE WHEN p.r_files < 0.03 THEN 1 + floor(p.r_files * 66)::int ELSE 0 END
        FROM bench_plan AS p
        JOIN bench_household AS h ON h.n = p.household
        JOIN bench_enumerator AS e ON e.township = left(h.area_code, 9) AND e.j = floor(p.r_enumerator * e.c)::int"""))


def flags_and_reviews(connection: Connection) -> None:
    """A flag row on each submission the plan flags; a decision row (the supervisor's) on each one not pending."""
    entity = " ".join(f"WHEN '{code}' THEN '{kind}'" for code, _, kind in FLAGS if kind)
    connection.execute(text(f"""
        INSERT INTO flag (code, submission_uuid, entity_type, entity_id, details, raised_at)
        SELECT p.flag, p.uuid, CASE p.flag {entity} END,
               CASE WHEN CASE p.flag {entity} END IS NOT NULL THEN h.id::text END,
               CASE p.flag WHEN 'gps_outside_village' THEN jsonb_build_object('area_code', h.area_code, 'distance_m', 3400)
                           WHEN 'clock_skew' THEN jsonb_build_object('skew_seconds', 216000) ELSE '{{}}' END,
               p.received_at
        FROM bench_plan AS p JOIN bench_household AS h ON h.n = p.household WHERE p.flag IS NOT NULL"""))  # noqa: S608 # nosec B608 (constants only)
    connection.execute(text("""
        INSERT INTO submission_review (submission_uuid, decision, comment, reviewer_id, decided_at)
        SELECT p.uuid, p.review_state, CASE WHEN p.review_state <> 'approved' THEN '请核实收入' END,
               (SELECT id FROM app_user WHERE username = :supervisor),
               least(now(), p.received_at + interval '3 days' * p.r_review)
        FROM bench_plan AS p WHERE p.review_state <> 'pending'"""), {"supervisor": SUPERVISOR})
