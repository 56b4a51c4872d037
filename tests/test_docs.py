"""The README and docs/ stay true: the README is short, its layout matches the tree, and every command shown
in a fenced shell block is run here as far as is cheap, so a renamed option, config or target fails a test.

How far each kind of command runs: `litlab fit|validate|test|predict ...` through the command's full argument
parsing and config stacking (`--print_config`, nothing trained: training runs are what the other tests do);
`litlab sweep` and `python scripts/x.py` through `--help` (in this process), and each option shown must be one
the command has; `make <target>` as a dry run (`make -n`); `sbatch scripts/slurm.sh` through `bash -n`. Other programs'
commands (EXTERNAL) are only shown to the reader. A command of no known kind fails the test.
"""

import contextlib
import functools
import io
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from unittest import mock

import pytest

from conftest import REPO
from litlab.command import entry
from litlab.command.cli import resolved_config

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"```(?:bash|sh|shell)\n(.*?)```", re.DOTALL)
LAYOUT = re.compile(r"<!-- layout: .*? -->\n```\n(.*?)```", re.DOTALL)
README_EXAMPLES = re.compile(r"<!-- readme-example: (\S+) -->")
EXTERNAL = {"createdb", "optuna-dashboard"}  # PostgreSQL's and Optuna's tools, not litlab's: not installed here


@functools.cache
def help_of(command: str) -> str:
    """`python <script> --help` or `litlab sweep --help`, once each and in this process: their imports are the
    suite's, so no start-up."""
    out = io.StringIO()
    with (
        mock.patch.object(sys, "argv", [command, "--help"]),
        contextlib.redirect_stdout(out),
        pytest.raises(SystemExit) as exit_,
    ):
        if command == "litlab sweep":
            entry.main(["sweep", "--help"])
        else:
            runpy.run_path(str(REPO / command), run_name="__main__")
    assert exit_.value.code in (0, None), f"{command} --help exited with {exit_.value.code}"
    return out.getvalue()


def options_exist(help_text: str, shown: list[str], name: str) -> None:
    """Every `--option` of the shown command is one that its `--help` lists."""
    for option in (w.split("=")[0] for w in shown if w.startswith("--")):
        assert option in help_text, f"{name} has no option {option}"


def shown_commands() -> list[tuple[str, str]]:
    """(file name, command) for every command line of every fenced shell block, continuations joined."""
    found = []
    for doc in DOCS:
        for block in FENCE.findall(doc.read_text()):
            for line in block.replace("\\\n", " ").splitlines():
                command = line.split("  #")[0].strip()
                if command and not command.startswith("#"):
                    found.append((doc.name, " ".join(command.split())))
    return found


def test_readme_is_short_and_links_every_doc() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for doc in DOCS[1:]:
        assert f"(docs/{doc.name})" in readme, f"README does not link docs/{doc.name}"


def test_readme_layout_lists_the_tree() -> None:
    [block] = LAYOUT.findall((REPO / "README.md").read_text())
    listed = [line.split()[0] for line in block.splitlines() if line.strip()]
    for path in listed:
        assert (REPO / path).is_dir(), f"README's layout lists {path}, which does not exist"
    packages = {f"src/litlab/{p.name}/" for p in (REPO / "src" / "litlab").iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(listed), f"missing from README's layout: {sorted(packages - set(listed))}"
    for folder in ("configs/", "benchmarks/", "scripts/", "docs/", "tests/"):
        assert folder in listed


def test_every_shipped_config_is_documented() -> None:
    """A config a user cannot find is a config they do not have: each is named in the README or a docs page."""
    text = "\n".join(doc.read_text() for doc in DOCS)
    configs = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "configs").rglob("*.yaml"))
    missing = [config for config in configs if config not in text]
    assert not missing, f"not named in README.md or docs/*.md: {missing}"


@pytest.mark.parametrize(("doc", "command"), shown_commands(), ids=lambda value: value[:60])
def test_every_shown_command_runs(doc: str, command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    words = shlex.split(command)
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # PYTHONPATH=. litlab ...
        words.pop(0)
    if words[0] == "torchrun":
        words = words[words.index("-m") + 1 :]
    words[0] = words[0].removeprefix(".venv/bin/")
    if words[:2] == ["litlab", "sweep"]:
        options_exist(help_of("litlab sweep"), words[2:], "litlab sweep")
    elif words[0] == "litlab":
        config = words[words.index("--config") + 1]
        if not (REPO / config).is_file():  # a file the README prints; tests/test_readme_example.py trains it
            assert config in README_EXAMPLES.findall((REPO / "README.md").read_text())
            return
        print_config = [] if "--print_config" in words else ["--print_config"]
        resolved = resolved_config([*words[1:], *print_config])
        assert resolved and "trainer" in resolved, command
    elif words[0] == "python" and words[1].startswith("scripts/"):
        options_exist(help_of(words[1]), words[2:], words[1])
    elif words[0] == "make":
        if shutil.which("make") is None:
            pytest.skip("make is not installed")
        subprocess.run(["make", "-n", *words[1:]], capture_output=True, text=True, check=True)
    elif words[0] == "sbatch":
        script = next(w for w in words if w.startswith("scripts/"))
        subprocess.run(["bash", "-n", script], check=True)
        assert all((REPO / w).is_file() for w in words if w.startswith("configs/"))
    elif words[0] in EXTERNAL:
        pytest.skip(f"{words[0]} is another program's command, shown for the reader")
    else:
        pytest.fail(f"{doc} shows `{command}`, which no test runs: add it to this test or to a script")
