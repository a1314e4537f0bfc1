"""yum_repository on this machine (it only writes files): what the differential case
(tests/compat/playbooks/93_yum_repository.yml) does not show."""

from __future__ import annotations

import stat

from corral.testing import CorralProject


def run(project: CorralProject, task: str, *options: str):
    project.write(
        "site.yml",
        f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - {task}
        """,
    )
    return project.run("run", "site.yml", "--output", "json", *options)


def result_of(outcome) -> dict:
    (event,) = [e for e in outcome.json_lines() if e["event"] == "task_result"]
    return event


def test_mode_and_a_diff_of_the_sections(corral_project: CorralProject) -> None:
    repos = corral_project.path / "repos"
    repos.mkdir()
    task = (
        f"yum_repository: {{name: app, description: App, baseurl: 'https://r.example/app',"
        f" reposdir: {repos}, mode: '0640'}}"
    )
    written = run(corral_project, task, "--diff")
    assert written.exit_code == 0, written.output
    event = result_of(written)
    assert event["status"] == "changed"
    assert event["result"]["diff"]["before"] == ""
    assert event["result"]["diff"]["after"] == (
        "[app]\nbaseurl = https://r.example/app\nname = App\n\n"
    )
    assert stat.S_IMODE((repos / "app.repo").stat().st_mode) == 0o640
    (repos / "app.repo").chmod(0o644)
    again = result_of(run(corral_project, task))
    assert again["status"] == "changed"  # only the mode was put back
    assert stat.S_IMODE((repos / "app.repo").stat().st_mode) == 0o640


def test_a_file_that_does_not_parse_is_left_alone(corral_project: CorralProject) -> None:
    repos = corral_project.path / "repos"
    repos.mkdir()
    (repos / "app.repo").write_text("baseurl = before any section\n")
    task = f"yum_repository: {{name: app, description: App, mirrorlist: m, reposdir: {repos}}}"
    failed = result_of(run(corral_project, task))
    assert failed["status"] == "failed"
    assert failed["result"]["msg"].startswith(f"cannot parse {repos}/app.repo: ")
    assert (repos / "app.repo").read_text() == "baseurl = before any section\n"
