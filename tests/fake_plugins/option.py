"""Adds a command-line option and records the value it receives."""

import drizrun

SEEN: list[str] = []


@drizrun.hookimpl
def drizrun_addoption(parser):
    group = parser.add_argument_group("option plugin")
    group.add_argument("--option-greeting", default="hi", help="a greeting")


@drizrun.hookimpl
def drizrun_configure(config):
    SEEN.append(config.options["option_greeting"])
