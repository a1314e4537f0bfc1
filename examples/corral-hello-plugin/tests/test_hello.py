"""The plugin's own tests, using the fixtures corral ships for plugin authors."""

import json


def test_corral_lists_the_plugin(corral_project):
    result = corral_project.run("plugins", "--json")
    assert result.exit_code == 0, result.output
    hello = [p for p in json.loads(result.stdout) if p["name"] == "hello"]
    assert hello, result.stdout
    assert hello[0]["distribution"] == "corral-hello-plugin"
    assert hello[0]["steps"] == ["hello.greet"]


def test_the_trigger_is_listed_and_checked_on_plays(corral_project):
    hello = next(
        p
        for p in json.loads(corral_project.run("plugins", "--json").stdout)
        if p["name"] == "hello"
    )
    assert hello["triggers"] == ["hello.every"]
    corral_project.write("inventory.ini", "localhost ansible_connection=local\n")
    play = "- hosts: localhost\n  triggers:\n    - hello.every: {seconds: %s}\n  tasks: []\n"
    corral_project.write("ok.yml", play % 30)
    assert corral_project.run("check", "ok.yml", "-i", "inventory.ini").exit_code == 0
    corral_project.write("bad.yml", play % 0)
    bad = corral_project.run("check", "bad.yml", "-i", "inventory.ini")
    assert bad.exit_code == 4
    assert "trigger 'hello.every': seconds: 0 is less than the minimum of 1" in bad.stderr


def test_the_trigger_fires_until_stopped():
    import threading

    from corral_hello import every

    from corral import TriggerContext

    class Clockless(threading.Event):
        def wait(self, timeout=None):  # no sleeping in tests: each wait returns at once
            return self.is_set()

    fired = []
    stopping = Clockless()

    def fire(payload):
        fired.append(payload)
        if len(fired) == 3:
            stopping.set()

    every(TriggerContext("site.yml", fire, stopping=stopping), {"seconds": 60})
    assert fired == [{"tick": 1}, {"tick": 2}, {"tick": 3}]
