"""The book's experiments, built on the :mod:`drnet_core` library and never imported by it.

Each module is one study that a chapter draws and a ``python -m drnet_core`` command reruns; their result rows
are stored next to the committed weights and reused while their settings are unchanged.
"""
