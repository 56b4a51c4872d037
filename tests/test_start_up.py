"""`litlab --help`, `litlab` alone and a missing --config file answer without importing torch or Lightning, and
say the same as the full command would."""

import subprocess
import sys
from pathlib import Path

import pytest

from litlab.command.cli import LitlabCLI, main
from litlab.command.early_exit import SUBCOMMANDS

# Runs the console script's entry point, then reports whether the training stack was imported.
PROBE = """
import sys
from litlab.command.entry import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    print("exit", stop.code, file=sys.stderr)
print("heavy:", sorted(m for m in ("torch", "lightning", "jsonargparse") if m in sys.modules), file=sys.stderr)
"""


def probe(*words: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE, *words], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("words", "status"), [(["--help"], 0), ([], 2), (["fit", "--config", "configs/nope.yaml"], 2)], ids=str
)
def test_answered_without_the_training_stack(words: list[str], status: int, tmp_path: Path) -> None:
    result = probe(*words, cwd=tmp_path)
    assert f"exit {status}" in result.stderr
    assert "heavy: []" in result.stderr, result.stderr


def test_help_lists_every_subcommand_in_whole_sentences(tmp_path: Path) -> None:
    help_text = probe("--help", cwd=tmp_path).stdout
    assert set(SUBCOMMANDS) == {*LitlabCLI.subcommands(), "sweep"}
    for name, description in SUBCOMMANDS.items():
        assert f"  {name}" in help_text and description in help_text
        assert description.endswith(".") and description[0].isupper()


def test_a_missing_config_reads_as_the_full_command_says_it(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    early = probe("test", "--config=nope.yaml", cwd=tmp_path).stderr.splitlines()[0]
    with pytest.raises(SystemExit):
        main(["test", "--config", "nope.yaml"])  # the LightningCLI's own check
    assert capsys.readouterr().err.splitlines()[0] == early
    assert early == f"litlab: error: --config: there is no file '{tmp_path.resolve() / 'nope.yaml'}'."


@pytest.mark.slow  # litlab processes: CI runs it (.ci/run)
def test_an_existing_config_and_other_words_go_to_the_full_command(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("trainer: {max_epochs: 1}\n")
    result = probe("fit", "--config", "a.yaml", "--nonsense", cwd=tmp_path)
    assert "unknown option --nonsense" in result.stderr and "exit 2" in result.stderr
