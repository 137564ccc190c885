"""A plugin whose hook name is misspelt (missing an 'i')."""

import drizrun


@drizrun.hookimpl
def drizrun_regster_stages(registry):
    pass
