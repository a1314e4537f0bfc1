"""``corral schedule --emit systemd``: timers that fire when the cron trigger would.

systemd itself is the judge: ``systemd-analyze calendar`` computes each ``OnCalendar=``
line's next times from a fixed base time, compared with the trigger's own schedule;
``systemd-analyze verify`` reads the unit files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from conftest import need

from corral.testing import CorralProject
from corral_plugins.triggers.cron import CronSchedule
from corral_plugins.triggers.systemd import on_calendar

# A Tuesday, far from clock changes: there the two differ on purpose (systemd skips a
# time that does not exist, the cron trigger fires when the gap ends; docs/triggers.md).
BASE = datetime(2026, 5, 12, 10, 7, tzinfo=UTC)


def systemd_times(calendars: list[str], count: int) -> list[datetime]:
    """The next ``count`` elapses of the union of ``calendars`` after BASE, per systemd."""
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze is not installed")
    times: set[datetime] = set()
    for calendar in calendars:
        done = subprocess.run(
            ["systemd-analyze", "calendar", f"--iterations={count}",
             f"--base-time={BASE:%Y-%m-%d %H:%M:%S} UTC", calendar],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        for stamp in re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\S+ \S+) UTC", done.stdout):
            times.add(datetime.fromisoformat(stamp).replace(tzinfo=UTC))
    return sorted(times)[:count]


@pytest.mark.parametrize(
    ("schedule", "zone"),
    [
        ("30 2 * * 1-5", "Europe/Berlin"),
        ("*/15 * * * *", "UTC"),
        ("5-20/5 1,3 * 1-6 *", "UTC"),
        ("0 12 * * 1,3,5", "America/New_York"),
        ("0 9 1-7 * 1", "UTC"),  # cron: the first seven days, or any Monday
        ("0 0 1 * 0", "Asia/Kolkata"),
        ("@weekly", "UTC"),
        ("@monthly", "Europe/Berlin"),
        ("0 6 13 * 5", "UTC"),
    ],
)
def test_the_timer_fires_when_the_trigger_would(schedule: str, zone: str) -> None:
    count = 12
    cron = CronSchedule.from_args({"schedule": schedule, "timezone": zone})
    expected = []
    for fire in cron.fires_after(BASE):
        expected.append(fire)
        if len(expected) == count:
            break
    assert systemd_times(on_calendar(schedule, zone), count) == expected


def test_what_a_timer_cannot_say_is_an_error() -> None:
    with pytest.raises(ValueError, match="uses L or #"):
        on_calendar("0 0 L * *")


def test_schedule_writes_units_systemd_accepts(corral_project: CorralProject) -> None:
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze is not installed")
    corral_project.write("inventory.ini", "localhost ansible_connection=local\n")
    corral_project.write(
        "playbooks/backup.yml",
        "- hosts: localhost\n  triggers:\n"
        "    - cron: {schedule: '30 2 * * 1-5', timezone: Europe/Berlin, catch_up: last}\n"
        "    - cron: {schedule: '@hourly', jitter: 120, overlap: queue}\n"
        "  tasks:\n    - debug: {msg: backup}\n",
    )
    result = corral_project.run(
        "schedule", "--emit", "systemd", "--out", "units", "-i", "inventory.ini"
    )
    assert result.exit_code == 0, result.stderr
    assert "warning: playbooks/backup.yml: overlap: queue becomes skip" in result.stderr
    units = corral_project.path / "units"
    names = sorted(p.name for p in units.iterdir())
    assert names == [
        "corral-playbooks-backup-1.service",
        "corral-playbooks-backup-1.timer",
        "corral-playbooks-backup-2.service",
        "corral-playbooks-backup-2.timer",
    ]
    timer = (units / "corral-playbooks-backup-1.timer").read_text()
    assert "OnCalendar=Mon..Fri *-*-* 02:30:00 Europe/Berlin\n" in timer
    assert "Persistent=true\n" in timer
    assert "FixedRandomDelay=true" in (units / "corral-playbooks-backup-2.timer").read_text()
    service = (units / "corral-playbooks-backup-1.service").read_text()
    assert f"WorkingDirectory={corral_project.path.resolve()}\n" in service
    assert "run playbooks/backup.yml --inventory=inventory.ini\n" in service
    verified = subprocess.run(
        ["systemd-analyze", "verify", *(str(units / n) for n in names)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    # The service runs the playbook as written.
    argv = service.split("ExecStart=", 1)[1].split()
    ran = subprocess.run(
        argv, cwd=corral_project.path, capture_output=True, text=True, timeout=120, check=False,
        env={"CORRAL_HOME": str(corral_project.path / "home"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "backup" in ran.stdout
