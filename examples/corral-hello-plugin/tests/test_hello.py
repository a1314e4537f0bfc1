"""The plugin's own tests, using the fixtures corral ships for plugin authors."""

import json


def test_corral_lists_the_plugin(corral_project):
    result = corral_project.run("plugins", "--json")
    assert result.exit_code == 0, result.output
    hello = [p for p in json.loads(result.stdout) if p["name"] == "hello"]
    assert hello, result.stdout
    assert hello[0]["distribution"] == "corral-hello-plugin"
    assert hello[0]["steps"] == ["hello.greet"]
