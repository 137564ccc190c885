"""Built-in stage plugins and the numerical algorithms they use.

The algorithm modules (``imstats``, ``staticmask``, ``combine``, ``crdetect``)
take and return NumPy arrays only, so other plugins can reuse them.
"""
