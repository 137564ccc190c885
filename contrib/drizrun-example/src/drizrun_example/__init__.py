"""drizrun-example: an example third-party drizrun plugin."""

__version__ = "0.1.0"
