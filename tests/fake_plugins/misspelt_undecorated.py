"""A plugin with a misspelt, undecorated hook function."""


def drizrun_register_stage(registry):
    pass
