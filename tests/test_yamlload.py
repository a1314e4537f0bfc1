"""The YAML loader: marks on every node, PyYAML SafeLoader typing, bounds and error messages.

Most tests run twice, through libyaml and through PyYAML's pure-Python parser (the
``parser`` fixture), because corral uses whichever is installed and must say the same
thing either way.
"""

from __future__ import annotations

import copy
import datetime
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from corral.errors import EXIT_INVALID, Location, PlaybookError
from corral.playbook.yaml import load as yamlload
from corral.playbook.yaml.load import (
    MarkedDict,
    MarkedList,
    MarkedStr,
    load_yaml_file,
    load_yaml_text,
    mark_of,
)


@pytest.fixture(params=["libyaml", "python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with libyaml's parser, then with PyYAML's pure-Python one."""
    if request.param == "libyaml":
        if not yamlload.LIBYAML:
            pytest.skip("PyYAML was built without libyaml")
        monkeypatch.setattr(yamlload, "_LOADER", yaml.CSafeLoader)
    else:
        monkeypatch.setattr(yamlload, "_LOADER", yaml.SafeLoader)
    return str(request.param)


def load_error(text: str, filename: str = "site.yml") -> PlaybookError:
    with pytest.raises(PlaybookError) as info:
        load_yaml_text(text, filename)
    return info.value


def at(line: int, col: int, file: str = "site.yml") -> Location:
    return Location(file, line, col)


# -- marks ---------------------------------------------------------------------------------

PLAYBOOK = """\
- name: Deploy web
  hosts: web
  vars:
    port: 8080
    greeting: "hello"
  tasks:
    - name: Install
      shell: apt-get install -y app
      tags: [install, app]
    - debug: {msg: 'done'}
"""


def test_marks_on_keys_items_and_strings(parser: str) -> None:
    plays = load_yaml_text(PLAYBOOK, "site.yml")

    assert isinstance(plays, MarkedList)
    assert plays.mark == at(1, 1)
    assert plays.item_marks == [at(1, 3)]
    play = plays[0]
    assert isinstance(play, MarkedDict)
    assert play.mark == at(1, 3)
    assert play.key_marks == {
        "name": at(1, 3),
        "hosts": at(2, 3),
        "vars": at(3, 3),
        "tasks": at(6, 3),
    }
    assert play["name"].mark == at(1, 9)
    assert play["vars"].mark == at(4, 5)
    assert play["vars"].key_marks["greeting"] == at(5, 5)
    assert play["vars"]["greeting"].mark == at(5, 15)  # at the opening quote
    tasks = play["tasks"]
    assert tasks.item_marks == [at(7, 7), at(10, 7)]
    assert tasks[0]["shell"].mark == at(8, 14)
    assert tasks[0]["tags"].mark == at(9, 13)
    assert tasks[0]["tags"].item_marks == [at(9, 14), at(9, 23)]
    assert tasks[0]["tags"][1].mark == at(9, 23)
    assert tasks[1]["debug"].mark == at(10, 14)
    assert tasks[1]["debug"]["msg"].mark == at(10, 20)


def test_plain_values_keys_and_mark_of(parser: str) -> None:
    play = load_yaml_text(PLAYBOOK, "site.yml")[0]

    port = play["vars"]["port"]
    assert type(port) is int
    assert mark_of(port) is None
    assert play["vars"].key_marks["port"] == at(4, 5)
    assert all(type(key) is str for key in play)
    assert type(play["hosts"]) is MarkedStr
    assert mark_of(play["hosts"]) == at(2, 10)
    assert mark_of(play) == at(1, 3)
    assert mark_of(play["tasks"]) == at(7, 5)  # the first "- "


def test_columns_count_characters_and_line_endings_are_any(parser: str) -> None:
    data = load_yaml_text("\ufeffgrüße: 'ünïcode'\r\nnext: [é, x]\r\n", "v.yml")

    assert data.key_marks == {"grüße": Location("v.yml", 1, 1), "next": Location("v.yml", 2, 1)}
    assert data["grüße"].mark == Location("v.yml", 1, 8)
    assert data["next"].item_marks == [Location("v.yml", 2, 8), Location("v.yml", 2, 11)]


def test_display_name_is_the_file_in_every_mark(tmp_path: Path) -> None:
    path = tmp_path / "vars.yml"
    path.write_text("a:\n  - b\n")

    assert load_yaml_file(path)["a"].mark == Location(str(path), 2, 3)
    data = load_yaml_file(path, display_name="group_vars/all.yml")
    assert data["a"][0].mark == Location("group_vars/all.yml", 2, 5)


def test_marks_survive_copy_and_pickle() -> None:
    data = load_yaml_text("a: {b: [x]}\n", "f.yml")

    for clone in (copy.copy(data), copy.deepcopy(data), pickle.loads(pickle.dumps(data))):
        assert clone == data
        assert clone.mark == data.mark
        assert clone.key_marks == data.key_marks
        assert clone["a"]["b"].item_marks == [Location("f.yml", 1, 9)]
        assert clone["a"]["b"][0].mark == Location("f.yml", 1, 9)


def test_non_string_keys_stay_python_values(parser: str) -> None:
    data = load_yaml_text("1: one\nfalse: yes\n~: nothing\n2024-01-31: day\n", "f.yml")

    assert data == {1: "one", False: True, None: "nothing", datetime.date(2024, 1, 31): "day"}
    assert list(map(type, data)) == [int, bool, type(None), datetime.date]
    assert data.key_marks[None] == Location("f.yml", 3, 1)


def test_keys_python_treats_as_equal_are_duplicates(parser: str) -> None:
    error = load_error("1: one\ntrue: yes\n")

    assert (
        str(error)
        == "site.yml:2:1: duplicate key True (the same key as 1) (first defined on line 1)"
    )


# -- typing: exactly PyYAML's SafeLoader ---------------------------------------------------

SAME_AS_PYYAML = [
    "flags: [yes, no, on, off, Yes, NO, On, OFF, true, False, y, n]",
    "nulls: [~, null, Null, '', ]\nempty:\n",
    "numbers: [0755, 0o17, 0x1F, 0b101, 1_000, 1:30, -7, +3, 1.5, 1e3, 1.5e3, .inf, -.Inf, .5]",
    "when: [2024-01-31, 2001-12-14t21:59:43.10-05:00, '2024-01-31']",
    "quoted: ['yes', \"no\", '0755', ! 12, !!str 12, !!int '7', !!float '1']",
    "block: |\n  line one\n  line two\nfolded: >-\n  a\n  b\n",
    "bin: !!binary aGVsbG8=\nset: !!set {a, b}\nomap: !!omap [{a: 1}, {b: 2}]\n",
    "odd: [<<x, =x, 'a: b', '-', a#b, a:b, -1x]  # comment",
    "a: &a [1, {b: 2}]\nc: *a\n'<<': not a merge\n",
    "%YAML 1.1\n---\nx: 1\n...\n",
]


@pytest.mark.parametrize("text", SAME_AS_PYYAML)
def test_values_and_key_order_match_pyyaml_safe_load(parser: str, text: str) -> None:
    ours = load_yaml_text(text, "f.yml")
    theirs = yaml.load(text, Loader=yamlload._LOADER)

    assert ours == theirs
    assert repr(ours) == repr(theirs)  # same types and the same key order


def test_yaml_1_1_booleans_as_ansible_reads_them(parser: str) -> None:
    data = load_yaml_text("gather_facts: no\nbecome: yes\nenabled: on\ny: y\n", "f.yml")

    assert data == {"gather_facts": False, "become": True, "enabled": True, "y": "y"}
    assert all(type(data[key]) is bool for key in ("gather_facts", "become", "enabled"))


def test_aliases_are_the_anchored_object(parser: str) -> None:
    data = load_yaml_text("base: &b {user: app}\none: *b\ntwo: [*b]\n", "f.yml")

    assert data["one"] is data["base"]
    assert data["two"][0] is data["base"]
    assert data["two"].item_marks == [Location("f.yml", 3, 7)]  # where the alias is


def test_merge_keys(parser: str) -> None:
    text = """\
defaults: &defaults
  become: yes
  retries: 3
  user: app
web:
  <<: *defaults
  retries: 5
both:
  <<: [{user: web}, *defaults]
"""
    data = load_yaml_text(text, "v.yml")

    assert data["web"] == {"become": True, "retries": 5, "user": "app"}
    assert data["both"] == {"become": True, "retries": 3, "user": "web"}
    assert "<<" not in data["web"]
    # A merged key is marked where it is written: in the anchored mapping.
    assert data["web"].key_marks["user"] == Location("v.yml", 4, 3)
    assert data["web"].key_marks["retries"] == Location("v.yml", 7, 3)
    assert data["web"].mark == Location("v.yml", 6, 3)


def test_merge_keys_follow_the_spec_and_pyyaml_6_0_3_key_order(parser: str) -> None:
    # Not compared with the installed PyYAML: 6.0.4 lets the last merge source win for keys
    # longer than one character (yaml/pyyaml#953). corral keeps the spec (the first source
    # wins) and the key order every PyYAML release before 6.0.4 gave.
    text = (
        "- &d {x: 1, y: 2, long: d}\n- &e {y: 3, z: 4, long: e}\n"
        "- {y: 9, <<: [*d, *e], w: 0}\n- {<<: *d, x: 5}\n"
    )
    data = load_yaml_text(text, "f.yml")

    assert repr(data[2]) == "{'y': 9, 'z': 4, 'long': 'd', 'x': 1, 'w': 0}"
    assert repr(data[3]) == "{'x': 5, 'y': 2, 'long': 'd'}"


def test_empty_and_comment_only_files_load_as_none(parser: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.yml"
    empty.write_bytes(b"")

    assert load_yaml_file(empty) is None
    assert load_yaml_text("# nothing yet\n\n", "f.yml") is None
    assert load_yaml_text("---\n", "f.yml") is None


def test_utf16_with_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "windows.yml"
    path.write_bytes("name: café\n".encode("utf-16"))

    data = load_yaml_file(path, display_name="windows.yml")
    assert data == {"name": "café"}
    assert data["name"].mark == Location("windows.yml", 1, 7)


# -- errors --------------------------------------------------------------------------------

SYNTAX_ERRORS = [
    pytest.param(
        "tasks:\n\t- debug: {}\n",
        "site.yml:2:1: found a tab character where indentation is expected",
        "YAML indentation uses spaces; replace the tab at line 2, column 1 with spaces",
        id="tab-indent",
    ),
    pytest.param(
        "- name: ok\n\t  shell: x\n",
        "site.yml:2:1: found a tab character where indentation is expected",
        "replace the tab at line 2, column 1",
        id="tab-indent-in-list",
    ),
    pytest.param(
        'a: 1\nmsg: "hello\nb: 2\n',
        'site.yml:2:6: unclosed quote: the string that starts here with " never ends',
        'add the closing "',
        id="unclosed-double-quote",
    ),
    pytest.param(
        "a: 'it\n",
        "site.yml:1:4: unclosed quote: the string that starts here with ' never ends",
        "write it twice ('')",
        id="unclosed-single-quote",
    ),
    pytest.param(
        "- name: run\n  shell: echo a: b\n",
        "site.yml:2:16: unexpected ':' (a key: value pair cannot start here)",
        "if the value contains ': ', put the whole value in quotes",
        id="colon-in-value",
    ),
    pytest.param(
        "- name: x\n  shell: y\n   when: z\n",
        "site.yml:3:8: unexpected ':' (a key: value pair cannot start here)",
        "indentation",
        id="over-indented-key",
    ),
    pytest.param(
        "vars:\n  a: 1\n b: 2\n",
        "site.yml:3:2: bad indentation: this line does not line up with the keys above it",
        "keys of one mapping start in the same column (this mapping starts at line 1, column 1)",
        id="under-indented-key",
    ),
    pytest.param(
        "- a\nb: 1\n",
        "site.yml:2:1: bad indentation: expected a list item ('- ') here, like the lines above",
        "a list and a mapping cannot share one indentation level",
        id="list-then-mapping",
    ),
    pytest.param(
        "- name: x\n  shell y\n  when: z\n",
        "site.yml:2:3: could not find the ':' that ends this key (a key must fit on one line)",
        "add the missing ':'",
        id="missing-colon",
    ),
    pytest.param(
        'msg: "done" now\n',
        "site.yml:1:13: unexpected text after a value",
        "quote the whole value",
        id="text-after-quoted",
    ),
    pytest.param(
        "tags: [a, b\n",
        "site.yml:1:7: unclosed '[': the list that starts here is never closed",
        "add the closing ']'",
        id="unclosed-bracket",
    ),
    pytest.param(
        "x: {a: 1 b: 2}\n",
        "site.yml:1:11: expected ',' or '}' in the mapping that starts at line 1, column 4",
        "separate items with ', '",
        id="flow-missing-comma",
    ),
    pytest.param(
        'path: "C:\\new\\dir"\n',
        "site.yml:1:14: unknown escape sequence '\\d' in a double-quoted string",
        "use single quotes",
        id="bad-escape",
    ),
    pytest.param(
        "user: @admin\n",
        "site.yml:1:7: a plain value cannot start with '@' (reserved in YAML)",
        "quotes",
        id="reserved-at",
    ),
    pytest.param(
        "a: - b\n",
        "site.yml:1:4: unexpected '- ' (a list cannot start on the same line as its key)",
        "start the list on the next line",
        id="dash-after-key",
    ),
    pytest.param(
        "a: *\n",
        "site.yml:1:4: '*' must be followed by an alias name",
        "quotes",
        id="alias-without-name",
    ),
    pytest.param(
        "script: |echo hi\n",
        "site.yml:1:10: unexpected text after '|' or '>' (a block of text starts on the next line)",
        "put the text on the following lines",
        id="text-after-block-indicator",
    ),
]


@pytest.mark.parametrize(("text", "expected", "hint"), SYNTAX_ERRORS)
def test_syntax_errors_are_one_line_at_the_useful_mark(
    parser: str, text: str, expected: str, hint: str
) -> None:
    error = load_error(text)

    assert str(error) == expected
    assert error.hint is not None
    assert hint in error.hint
    assert "\n" not in error.hint
    assert error.exit_code == EXIT_INVALID


def test_other_syntax_errors_keep_pyyaml_wording_on_one_line(parser: str) -> None:
    error = load_error("a: !x!y 1\n")

    # libyaml and the pure-Python parser word this one differently.
    assert str(error) in (
        "site.yml:1:4: found undefined tag handle",
        "site.yml:1:4: found undefined tag handle '!x!'",
    )
    error = load_error("a: [1,\n...\n")
    assert error.location == Location("site.yml", 2, 1)
    assert "\n" not in str(error)


LOAD_ERRORS = [
    pytest.param(
        "- name: one\n  shell: a\n  name: two\n",
        "site.yml:3:3: duplicate key 'name' (first defined on line 1)",
        "remove or rename one of them",
        id="duplicate-key",
    ),
    pytest.param(
        "a: &x {k: 1}\nb:\n  <<: *x\n  <<: *x\n",
        "site.yml:4:3: duplicate merge key '<<'",
        "<<: [*first, *second]",
        id="duplicate-merge-key",
    ),
    pytest.param(
        "a: &x 1\nb:\n  <<: *x\n",
        "site.yml:3:7: the merge key '<<' takes a mapping or a list of mappings, not a number",
        "<<: *name",
        id="merge-of-scalar",
    ),
    pytest.param(
        "a: 1\n---\nb: 2\n",
        "site.yml:2:1: found a second YAML document; a playbook or vars file holds exactly one",
        "remove the '---' line",
        id="second-document",
    ),
    pytest.param(
        "a: *nowhere\n",
        "site.yml:1:4: unknown alias *nowhere",
        "define the anchor (&nowhere) earlier",
        id="unknown-alias",
    ),
    pytest.param(
        "a: &loop [1, *loop]\n",
        "site.yml:1:14: alias *loop refers to a node that contains it (a recursive structure)",
        "complete",
        id="recursive-alias",
    ),
    pytest.param(
        "a: &x 1\nb: &x 2\n",
        "site.yml:2:4: anchor &x is defined twice",
        "own name",
        id="duplicate-anchor",
    ),
    pytest.param(
        "msg: {{ greeting }}\n",
        "site.yml:1:6: a mapping key must be a plain value, not a mapping",
        "a value that starts with '{{' must be quoted",
        id="unquoted-jinja",
    ),
    pytest.param(
        "? [a, b]\n: c\n",
        "site.yml:1:3: a mapping key must be a plain value, not a list",
        None,
        id="list-as-key",
    ),
    pytest.param(
        "when: 2024-13-01\n",
        "site.yml:1:7: '2024-13-01' looks like a date but is not a valid one "
        "(month must be in 1..12)",
        "put it in quotes",
        id="invalid-date",
    ),
    pytest.param(
        "port: !!int eighty\n",
        "site.yml:1:7: 'eighty' is not a valid !!int",
        "remove the !!int tag",
        id="invalid-tagged-int",
    ),
    pytest.param(
        "x: !!python/object/apply:os.system [id]\n",
        "site.yml:1:4: unknown tag !!python/object/apply:os.system",
        "Python object tags are never allowed",
        id="python-tag",
    ),
    pytest.param(
        "x: !custom '{{ raw }}'\n",
        "site.yml:1:4: unknown tag !custom",
        "quote the value",
        id="unknown-tag",
    ),
    pytest.param(
        "x: !!map scalar\n",
        "site.yml:1:4: the tag !!map cannot be used on a scalar",
        "standard YAML tags",
        id="collection-tag-on-scalar",
    ),
    pytest.param(
        "a: 1\nb: bell\x07\n",
        "site.yml:2:8: found the control character U+0007, which YAML does not allow",
        '"\\u0007"',
        id="control-character",
    ),
]


@pytest.mark.parametrize(("text", "expected", "hint"), LOAD_ERRORS)
def test_load_errors_name_the_problem_at_file_line_col(
    parser: str, text: str, expected: str, hint: str | None
) -> None:
    error = load_error(text)

    assert str(error) == expected
    if hint is None:
        assert error.hint is None
    else:
        assert error.hint is not None
        assert hint in error.hint
    assert error.exit_code == EXIT_INVALID


def test_tab_after_a_value_is_refused_only_by_the_pure_python_parser(parser: str) -> None:
    # libyaml (what Ansible uses when it can) accepts a tab as a separator here.
    if parser == "libyaml":
        assert load_yaml_text("hosts:\tweb\n", "f.yml") == {"hosts": "web"}
    else:
        error = load_error("hosts:\tweb\n")
        assert str(error) == "site.yml:1:7: found a tab character where YAML does not allow one"
        assert error.hint == "replace the tab at line 1, column 7 with spaces"


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"

    with pytest.raises(PlaybookError) as info:
        load_yaml_file(missing, display_name="vars/nope.yml")
    assert str(info.value) == "vars/nope.yml: file not found"
    assert info.value.hint == f"looked for {missing}"
    assert info.value.exit_code == EXIT_INVALID


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError) as info:
        load_yaml_file(tmp_path, display_name="roles")
    assert str(info.value) == "roles: is a directory, not a file"


def test_binary_file_is_not_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "app.bin"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")

    with pytest.raises(PlaybookError) as info:
        load_yaml_file(path, display_name="app.bin")
    assert str(info.value) == "app.bin:1:8: not a text file (it contains a NUL byte)"


def test_non_utf8_file_is_not_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes("a: 1\nname: café\n".encode("latin-1"))

    with pytest.raises(PlaybookError) as info:
        load_yaml_file(path, display_name="latin1.yml")
    assert str(info.value) == "latin1.yml:2:10: not a text file (invalid UTF-8 byte 0xe9)"
    assert info.value.hint is not None
    assert "save it again as UTF-8" in info.value.hint


# -- bounds --------------------------------------------------------------------------------


def test_file_over_the_size_limit_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.yml"
    path.write_bytes(b"# padding\n" * (yamlload.MAX_FILE_BYTES // 10 + 1))
    parsed: list[int] = []

    class Watched(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            parsed.append(len(stream))
            super().__init__(stream)

    monkeypatch.setattr(yamlload, "_LOADER", Watched)

    with pytest.raises(PlaybookError) as info:
        load_yaml_file(path, display_name="huge.yml")
    assert parsed == [], "the file was handed to the parser"
    assert str(info.value) == "huge.yml: file is too big to load (10.0 MiB; the limit is 10 MiB)"
    assert info.value.hint is not None
    assert "split it into smaller files" in info.value.hint

    with pytest.raises(PlaybookError, match="too big to load"):
        load_yaml_text("#" * (yamlload.MAX_FILE_BYTES + 1), "huge.yml")
    assert parsed == []
    assert load_yaml_text("a: 1\n", "small.yml") == {"a": 1}
    assert parsed == [5], "the watch sees a file that is parsed"


def big_playbook(tasks: int, *, merge: bool = False) -> str:
    head = "- name: Big play\n  hosts: all\n  vars:\n    port: 8080\n  tasks:\n"
    if merge:  # a 43-node mapping that every task merges
        env = ", ".join(f"VAR_{i}: value_{i}" for i in range(15))
        head = (
            "- defaults: &d {become: yes, retries: 3, delay: 5, tags: [app, web], "
            f"environment: {{{env}}}}}\n{head}"
        )
    lines = [head]
    for i in range(tasks):
        lines.append(
            f"    - name: Install and restart app {i}\n"
            + ("      <<: *d\n" if merge else "")
            + f'      shell: "apt-get install -y app-{i}={{{{ version }}}}"\n'
            f"      when: inventory_hostname in groups['web']\n"
            f"      register: result_{i}\n"
            f"      retries: 3\n"
            f"      ignore_errors: no\n"
            f"      tags: [install, app]\n"
            f"      environment: {{LANG: C.UTF-8}}\n"
        )
    return "".join(lines)


def test_5mb_playbook_of_20000_tasks_loads(tmp_path: Path) -> None:
    # How long it takes is measured by bench/bench_playbook.py, next to PyYAML's own loaders.
    path = tmp_path / "big.yml"
    path.write_text(big_playbook(20_000))
    assert path.stat().st_size > 5_000_000

    plays = load_yaml_file(path, display_name="big.yml")

    tasks = plays[0]["tasks"]
    assert len(tasks) == 20_000
    assert tasks[19_999]["register"] == "result_19999"
    assert tasks[19_999]["ignore_errors"] is False
    assert tasks[19_999].mark == Location("big.yml", 6 + 8 * 19_999, 7)
    assert tasks[19_999]["shell"].mark == Location("big.yml", 7 + 8 * 19_999, 14)


def test_many_ordinary_merges_stay_within_the_alias_budget(parser: str) -> None:
    # 5,000 tasks each merging a 43-node mapping: 215,000 nodes added by aliases, over the
    # fixed 100,000 but well within the 10 per node written that a real file earns.
    assert yamlload.ALIAS_NODE_BUDGET < 5_000 * 43
    plays = load_yaml_text(big_playbook(5_000, merge=True), "big.yml")

    task = plays[1]["tasks"][4_999]
    assert task["become"] is True
    assert task["retries"] == 3
    assert task["tags"] == ["install", "app"]  # written keys win over merged ones
    assert task["environment"] == {"LANG": "C.UTF-8"}
    assert task.key_marks["delay"] == Location("big.yml", 1, 42)  # in the anchored mapping


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused(parser: str) -> None:
    error = load_error(billion_laughs())

    # Refused at the alias that crosses the budget (level f).
    assert error.location == Location("site.yml", 6, 8)
    assert error.message.startswith("too much alias expansion at *e: aliases would add more than")
    assert "billion laughs" in error.message
    assert error.hint is not None
    assert "100,000 nodes" in error.hint


@pytest.mark.parametrize("levels", [10_000, 100_000])
@pytest.mark.parametrize(
    ("opening", "closing"),
    [("[", "]"), ("{a: ", "}"), ("- ", "")],
    ids=["flow-list", "flow-mapping", "block-list"],
)
def test_deep_nesting_is_refused(parser: str, levels: int, opening: str, closing: str) -> None:
    text = opening * levels + "x" + closing * levels

    error = load_error(text)

    # Reported where level 201 opens.
    assert error.message == "collections are nested more than 200 levels deep"
    assert error.location == Location("site.yml", 1, 200 * len(opening) + 1)
    assert error.hint is not None
    assert "200 levels" in error.hint


def test_deep_block_mappings_up_to_the_limit_load(parser: str) -> None:
    def nested(depth: int) -> str:
        return "".join("  " * i + "k:\n" for i in range(depth - 1)) + "  " * (depth - 1) + "k: 1\n"

    data = load_yaml_text(nested(200), "f.yml")
    for _ in range(199):
        data = data["k"]
    assert data == {"k": 1}

    error = load_error(nested(201))
    assert str(error) == "site.yml:201:401: collections are nested more than 200 levels deep"


def test_depth_reached_through_an_alias_counts(parser: str) -> None:
    text = "a: &a " + "[" * 150 + "]" * 150 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n"

    error = load_error(text)
    assert str(error) == (
        "site.yml:2:64: collections are nested more than 200 levels deep through alias *a"
    )


# -- threads -------------------------------------------------------------------------------


def test_loading_from_many_threads_at_once(tmp_path: Path) -> None:
    paths = []
    for i in range(16):
        path = tmp_path / f"vars{i}.yml"
        path.write_text("".join(f"key{i}_{j}: [value {j}, {j}]\n" for j in range(2_000)))
        paths.append(path)

    def load(path: Path) -> Any:
        return load_yaml_file(path, display_name=path.name)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(load, paths))

    for i, (path, data) in enumerate(zip(paths, results, strict=True)):
        assert data == load(path)
        assert data[f"key{i}_1999"] == ["value 1999", 1999]
        assert data[f"key{i}_1999"].mark == Location(path.name, 2_000, 11 + len(str(i)))
