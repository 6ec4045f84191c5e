"""Regenerates differential/cron/expected.json from real Airflow.

For each case (a cron expression or preset, a time zone, a start date) it
asks Airflow's own CronDataIntervalTimetable for the first data intervals
with catchup (`next_dagrun_info`, the scheduler's call), for the manual
run's interval at a few trigger times (`infer_manual_data_interval`, R14),
and for the first run without catchup at those times (R6; Airflow's clock is
set to each time).
An expression Airflow refuses is recorded as invalid. tests/cron_oracle.rs
compares runner's timetable with every case. Run through regen.sh, which
provides the Airflow venv (scripts/airflow-venv.sh); never edit the output.
"""
import json
import os
import random
import sys
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="runner-cron-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")

import pendulum  # noqa: E402
from airflow.exceptions import AirflowTimetableInvalid  # noqa: E402
from airflow.timetables.base import TimeRestriction  # noqa: E402
from airflow.timetables import interval as interval_module  # noqa: E402
from airflow.timetables.interval import CronDataIntervalTimetable  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
INTERVALS = 6

ZONES = [
    "UTC", "America/New_York", "Europe/Zurich", "Europe/London", "Australia/Lord_Howe",
    "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham", "America/Santiago", "Asia/Tehran",
]

# Starts just before DST changes (spring and autumn, both hemispheres) and ordinary days.
STARTS = [
    "2025-01-01T00:00:00", "2025-03-08T00:00:00", "2025-03-09T01:00:00", "2025-03-29T12:00:00",
    "2025-03-30T00:30:00", "2025-04-05T00:00:00", "2025-10-04T00:00:00", "2025-10-25T12:00:00",
    "2025-10-26T00:30:00", "2025-11-01T00:00:00", "2025-11-02T00:30:00", "2024-02-28T00:00:00",
    "2025-12-31T23:00:00", "2026-06-15T07:07:00",
]

HAND = [
    "0 0 1 * 1", "0 0 * * MON#1", "0 0 L * *", "30 2 * * *", "0 */2 * * *", "*/15 * * * *",
    "0 0 29 2 *", "0 12 * * 1-5", "5 4 * * sun", "0 0 * * 7", "0 22 * * 1-5", "@daily", "@hourly",
    "@weekly", "@monthly", "@quarterly", "@yearly", "@annually", "@midnight", "0 0 31 * *", "0 0 ? * 1",
    "30 1 * * *", "30 * * * *", "0 1-3 * * *", "0 0 1,15 * 5", "0 0 * * 5L", "0 0 * * FRI#5",
    "0 0 1 jan,jul *", "0 0 * * mon-fri", "59 23 L * *", "0 0 15W * *", "0 0 L-2 * *", "0 0 1-7 * 1",
    "0 0 */10 * *", "0 3 * * 0#2", "0 0 * 2 *", "1 2 3 4 5", "0 0 * * 8", "60 * * * *", "0 0 0 * *",
    "* * * * * *", "0 0 * *", "@continuous", "@once", "0 0 31 2 *", "0 2 * * 0", "30 2 8-14 3 0",
    "0 */7 * * *", "45 1-2 * * *", "0 0 * * 1#6", "0 0 LW * *", "*/90 * * * *", "0 0 1-31/2 * *",
    "0 0 ? * ?", "0 0 * * sat,sun", "0 0 * * 6-7", "0 0 * * 5-1", "0 12 1 1 0", "0 0 L 2 *",
]


def field(rng, lo, hi, names=None):
    r = rng.random()
    if r < 0.35:
        return "*"
    if r < 0.55:
        return str(rng.randint(lo, hi))
    if r < 0.65:
        a = rng.randint(lo, hi)
        b = rng.randint(a, hi)
        return f"{a}-{b}"
    if r < 0.78:
        return f"*/{rng.randint(2, max(2, (hi - lo) // 2))}"
    if r < 0.88:
        return ",".join(str(v) for v in sorted(rng.sample(range(lo, hi + 1), 2)))
    if names:
        return rng.choice(names)
    a = rng.randint(lo, hi)
    return f"{a}-{hi}/{rng.randint(2, 3)}"


def random_expr(rng):
    minute = field(rng, 0, 59)
    hour = field(rng, 0, 23)
    dom = field(rng, 1, 31, ["L", "1,15", "28-31", "?"])
    month = field(rng, 1, 12, ["jan-mar", "FEB", "*/3", "oct,nov"])
    dow = field(rng, 0, 7, ["MON#2", "5L", "sun", "mon-fri", "SAT#1", "?"])
    return f"{minute} {hour} {dom} {month} {dow}"


def iso(dt):
    return dt.in_timezone("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def run_case(expr, zone, start):
    tz = pendulum.timezone(zone)
    case = {"schedule": expr, "timezone": zone, "start": start}
    try:
        tt = CronDataIntervalTimetable(expr, tz)
        tt.validate()
    except (AirflowTimetableInvalid, ValueError, KeyError, TypeError) as e:
        case["invalid"] = type(e).__name__
        return case
    earliest = pendulum.parse(start, tz=tz)
    restriction = TimeRestriction(earliest=earliest, latest=None, catchup=True)
    last = None
    intervals = []
    try:
        for _ in range(INTERVALS):
            info = tt.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
            if info is None:
                break
            last = info.data_interval
            intervals.append([iso(last.start), iso(last.end)])
        manual = []
        latest = []
        for hours in (1, 30, 24 * 40 + 7):
            run_after = earliest.add(hours=hours)
            di = tt.infer_manual_data_interval(run_after=run_after)
            manual.append([iso(run_after), iso(di.start), iso(di.end)])
            # catchup=False (R6): the scheduler's first run when "now" is run_after.
            interval_module.utcnow = lambda t=run_after: t
            try:
                info = tt.next_dagrun_info(
                    last_automated_data_interval=None,
                    restriction=TimeRestriction(earliest=earliest, latest=None, catchup=False),
                )
                latest.append([iso(run_after), iso(info.data_interval.start), iso(info.data_interval.end)])
            except AssertionError:
                # Airflow's own `_skip_to_latest` asserts on some every-hour
                # schedules at some times: nothing to compare there.
                latest.append([iso(run_after), None, None])
    except Exception as e:  # croniter can refuse an expression only when it evaluates it
        case["invalid"] = type(e).__name__
        return case
    case["intervals"] = intervals
    case["manual"] = manual
    case["latest"] = latest
    return case


def main():
    rng = random.Random(20251207)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    cases = []
    for expr in HAND:
        for zone in ("UTC", "America/New_York", "Europe/Zurich", "Australia/Lord_Howe"):
            cases.append(run_case(expr, zone, rng.choice(STARTS)))
    while len(cases) < count:
        cases.append(run_case(random_expr(rng), rng.choice(ZONES), rng.choice(STARTS)))
    import airflow
    out = {"generated_by": f"apache-airflow {airflow.__version__}", "cases": cases}
    # One case a line: a regenerated file diffs case by case.
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        f.write('{"generated_by": %s, "cases": [\n' % json.dumps(out["generated_by"]))
        f.write(",\n".join(json.dumps(c, sort_keys=True) for c in cases))
        f.write("\n]}\n")
    bad = sum(1 for c in cases if "invalid" in c)
    print(f"{len(cases)} cases, {bad} invalid", file=sys.stderr)


if __name__ == "__main__":
    main()
