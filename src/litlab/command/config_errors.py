"""Turn jsonargparse's parse errors into one or two lines that name the key and suggest the closest valid one.

jsonargparse reports an unknown key or a wrong type by printing the full usage (60 lines) and a nested
"Does not validate against any of the Union subtypes" explanation. The problem is always in there; this
module pulls it out: which key, what was wrong, and the nearest valid key (difflib) or class name.
"""

import difflib
import importlib
import inspect
import re
from collections.abc import Iterable
from pathlib import Path

from jsonargparse import ArgumentParser

PARSER_KEY = re.compile(r'Parser key "([^"]+)"')
CLASS_PATH_PROBLEM = re.compile(r"Problem with given class_path '([^']+)'")
NOT_ACCEPTED = re.compile(r"Option '([^']+)' is not accepted")
NO_ATTRIBUTE = re.compile(r"module '([\w.]+)' has no attribute '(\w+)'")
NO_MODULE = re.compile(r"No module named '([\w.]+)'")
EXPECTED = re.compile(r"Expected an? <class '(\w+)'>")
GIVEN = re.compile(r"(?:Given value|Got value): (.*?)(?:\. Got value:|$)", re.MULTILINE)
UNRECOGNIZED = re.compile(r"unrecognized arguments: (.*)")
NOT_ACCEPT_OPTION = re.compile(r"does not accept option '([^']+)'")
CLASS_PATH_REASON = re.compile(r"Problem with given class_path '([^']+)':\n(.*)")
NO_FILE = re.compile(r"File does not exist: (.*)")
INVALID_SUBCOMMAND = re.compile(r"invalid choice: '([^']*)' \(choose from ([^)]*)\)")
REQUIRED = re.compile(r"the following arguments are required: ([\w., ]+)")
NOT_OF_TYPE = re.compile(r"Not of type \w+: (.*)")
VALUE_CLASS_PATH = re.compile(r"(?:Got|Given) value: Namespace\(class_path='([\w.]+)'")


def owner_after(message: str, position: int) -> str | None:
    """The class whose arguments a nested error is about: the first `class_path` in a value shown after it.

    jsonargparse nests a typo in an optimizer's init_args inside the task's error; the task's class_path comes
    first, the optimizer's is the value printed right after the problem.
    """
    match = VALUE_CLASS_PATH.search(message, position)
    return match.group(1) if match else None


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `word`, ignoring case (AdamW for Adamw), or None if none is close."""
    by_lower = {candidate.lower(): candidate for candidate in candidates}
    matches = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


def known_keys(parser: ArgumentParser | None) -> list[str]:
    """Every dotted key the (subcommand) parser accepts, e.g. `trainer.max_epochs`."""
    if parser is None:
        return []
    keys = parser.get_defaults().keys()
    return [key for key in keys if key != "config"]


def init_parameters(class_path: str) -> list[str]:
    """The keyword arguments of `class_path`'s constructor, those of its base classes included."""
    try:
        module, _, name = class_path.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return []
    names: list[str] = []
    for klass in inspect.getmro(cls):
        if "__init__" in vars(klass):
            names += [p for p in inspect.signature(klass.__init__).parameters if p not in ("self", "args", "kwargs")]
    return names


def public_names(module: str) -> list[str]:
    """Classes and functions a class_path may name in `module` (submodules left out)."""
    try:
        namespace = importlib.import_module(module)
    except ImportError:
        return []
    return [n for n in dir(namespace) if not n.startswith("_") and not inspect.ismodule(getattr(namespace, n))]


def key_path(message: str) -> str:
    """`Parser key "model"` ... `Parser key "optimizer"` ... `"lr"` -> model.init_args.optimizer.init_args.lr"""
    return ".init_args.".join(PARSER_KEY.findall(message))


def explain_unknown_key(key: str, parser: ArgumentParser | None, flag: bool) -> str:
    """`flag`: given on the command line (`--key`); else found in a config file."""
    suggestion = closest(key, known_keys(parser))
    hint = f" Did you mean {'--' if flag else ''}{suggestion}?" if suggestion else ""
    what = f"option --{key}" if flag else f"config key {key}"
    return f"unknown {what}.{hint} (`litlab fit --help` lists the options.)"


def explain(message: str, parser: ArgumentParser | None = None) -> str:
    """A short, specific message for a jsonargparse error message."""
    if match := UNRECOGNIZED.search(message):
        first = match.group(1).split()[0]
        return explain_unknown_key(first.removeprefix("--").split("=")[0], parser, flag=True)
    if match := NOT_ACCEPT_OPTION.search(message):
        return explain_unknown_key(match.group(1), parser, flag=False)
    if match := INVALID_SUBCOMMAND.search(message):
        choices = re.findall(r"'([^']+)'", match.group(2))
        suggestion = closest(match.group(1), choices)
        hint = f" Did you mean `litlab {suggestion}`?" if suggestion else ""
        return f"there is no subcommand '{match.group(1)}'; litlab has {', '.join(choices)} (and sweep).{hint}"
    where = key_path(message) or "the config"
    if match := NO_FILE.search(message):
        return f"--{where}: there is no file {match.group(1)}."
    if match := NOT_ACCEPTED.search(message):
        option = match.group(1)
        owners = CLASS_PATH_PROBLEM.findall(message)
        owner = owner_after(message, match.end()) or (owners[-1] if owners else None)
        suggestion = closest(option, init_parameters(owner)) if owner else None
        hint = f" Did you mean '{suggestion}'?" if suggestion else ""
        return f"{where}: {owner or 'this class'} has no option '{option}'.{hint}"
    if match := REQUIRED.search(message):
        missing = [name.strip() for name in match.group(1).split(",")]
        owner = owner_after(message, match.end())
        if owner is None:
            return (
                f"missing {', '.join(missing)}: give a config with --config (one of configs/*.yaml, or a run's "
                "config.yaml), or set them as options."
            )
        options = " ".join(f"--{where}.init_args.{name} <value>" for name in missing)
        return f"{where}: {owner} needs {', '.join(missing)}; add {options} (or set it under init_args in the YAML)."
    if match := NO_ATTRIBUTE.search(message):
        module, name = match.groups()
        suggestion = closest(name, public_names(module))
        hint = f" Did you mean {module}.{suggestion}?" if suggestion else ""
        return f"{where}: unknown class_path {module}.{name}: {module} has no {name}.{hint}"
    if match := NO_MODULE.search(message):
        module = match.group(1)
        local = Path.cwd() / f"{module.split('.')[0]}.py"
        hint = (
            f"{local.name} is here, so the error is inside it: run `python -c 'import {module}'` to see it."
            if local.is_file()
            else f"litlab imports it from the current folder ({Path.cwd()}) and your PYTHONPATH: run litlab from "
            f"the folder that holds {module.split('.')[0]}.py, or add that folder to PYTHONPATH."
        )
        return f"{where}: unknown class_path: there is no module {module}. {hint}"
    if match := NOT_OF_TYPE.search(message):  # a registered type's own reason (litlab.command.tensor_values)
        return f"{where}: {match.group(1).strip()}."
    if expected := [t for t in EXPECTED.findall(message) if t != "NoneType"]:
        given = GIVEN.findall(message)
        value = given[0].strip() if given else "?"
        return f"{where}: expected {' or '.join(dict.fromkeys(expected))}, got {value!r}."
    if match := CLASS_PATH_REASON.search(message):
        return f"{where}: cannot use {match.group(1)}: {match.group(2).strip()}"
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return "\n".join(lines[:6]) + ("\n..." if len(lines) > 6 else "")
