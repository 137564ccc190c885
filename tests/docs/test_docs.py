"""The documentation stays true: every hook, argument, CLI option and stage parameter is documented."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import drizrun
from drizrun.core import hookspecs
from drizrun.core.cli import build_parser
from drizrun.core.pluginmanager import BUILTIN_PLUGINS

DOCS = Path(__file__).resolve().parents[2] / "docs"
README = DOCS.parent / "README.md"

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("drizrun_"))


def _read(name: str) -> str:
    path = DOCS / name
    if not path.is_file():
        pytest.skip(f"{path} is not in this checkout")
    return path.read_text(encoding="utf-8")


def test_there_are_hooks_to_document():
    assert len(HOOKS) >= 10


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_in_the_plugin_guide_with_its_arguments(hook):
    guide = _read("plugins.md")
    arguments = list(inspect.signature(getattr(hookspecs, hook)).parameters)
    heading = f"### `{hook}({', '.join(arguments)})`"
    assert heading in guide, f"docs/plugins.md lacks the heading {heading}"
    section = guide.split(heading, 1)[1].split("\n### ", 1)[0]
    for argument in arguments:
        assert f"`{argument}`" in section, f"{hook}: argument {argument!r} is not described"
    firstresult = getattr(hookspecs, hook).drizrun_spec.get("firstresult")
    if firstresult:
        assert "first result wins" in section.lower(), f"{hook}: say that the first result wins"
    else:
        assert "every implementation is called" in section.lower(), f"{hook}: say that every impl is called"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_docstring_documents_parameters_and_returns(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    for argument in inspect.signature(getattr(hookspecs, hook)).parameters:
        assert re.search(rf"^{argument} :", doc, re.MULTILINE), f"{hook}: {argument} undocumented"
    assert "Returns\n-------" in doc


def test_the_guide_names_no_hook_that_does_not_exist():
    named = set(re.findall(r"`(drizrun_[a-z_]+)\(", _read("plugins.md")))
    assert named <= set(HOOKS), named - set(HOOKS)


def test_the_guide_lists_the_builtin_plugins_in_order():
    guide = _read("plugins.md")
    listed = ", ".join(f"`{name}`" for name in BUILTIN_PLUGINS)
    assert listed in guide.replace("\n   ", " ")


def test_every_command_line_option_is_in_the_user_guide():
    guide = _read("user-guide.md")
    for action in build_parser()._actions:
        for option in action.option_strings:
            if option in ("-h", "--help"):
                continue
            assert f"`{option}" in guide, f"docs/user-guide.md does not document {option}"


def test_every_stage_parameter_of_the_builtin_plugins_is_in_the_stage_reference():
    reference = _read("stages.md")
    session = drizrun.Session.create(autoload=False)
    for name in session.stages:
        info = session.stages[name]
        assert f"## `{name}`" in reference, f"docs/stages.md has no section for stage {name}"
        section = reference.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
        for param in info.params:
            assert f"`{name}.{param.name}`" in section, f"docs/stages.md lacks {name}.{param.name}"


def test_readme_gives_the_two_set_up_commands():
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.DOTALL)
    assert any("pip install" in block and "drizrun" in block and "pytest" not in block for block in blocks)
    assert any("pip install" in block and "pytest" in block for block in blocks)


def test_every_astrodrizzle_parameter_is_mapped_in_the_stage_reference():
    from drizrun.plugins.stages.adnames import ASTRODRIZZLE_NAMES, parameter_targets

    reference = _read("stages.md")
    section = reference.split("## AstroDrizzle parameter names", 1)[1]
    for name in ASTRODRIZZLE_NAMES:
        assert f"| `{name}` |" in section, f"docs/stages.md does not map AstroDrizzle's {name}"
    session = drizrun.Session.create(autoload=False)
    for target in parameter_targets():
        stage, key = target.split(".", 1)
        assert key in {p.name for p in session.stages[stage].params}, f"{target} is not a parameter"


def test_every_pipeline_option_is_in_the_pipeline_section_of_the_user_guide():
    from drizrun.core.pipeline.cli import build_parser as build_pipeline_parser

    guide = _read("user-guide.md")
    assert "\n## The pipeline driver\n" in guide, "docs/user-guide.md lacks the section 'The pipeline driver'"
    section = guide.split("\n## The pipeline driver\n", 1)[1].split("\n## ", 1)[0]
    for action in build_pipeline_parser()._actions:
        for option in action.option_strings:
            if option in ("-h", "--help"):
                continue
            assert f"`{option}" in section, f"docs/user-guide.md, 'The pipeline driver', does not document {option}"
    for word in ("NEWPATH", "trailer", ".tra"):
        assert word in section
