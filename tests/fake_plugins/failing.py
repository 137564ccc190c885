"""Makes the sep stage fail with an I/O error, to test processing-error handling."""

import drizrun


@drizrun.hookimpl(tryfirst=True)
def drizrun_stage_run(stage, params, ctx):
    if stage.name == "sep":
        raise OSError("simulated failure")
