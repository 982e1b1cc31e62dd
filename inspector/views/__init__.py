"""The data of show's focused views (net, mounts, stats, sockets), computed from the model.

Each module turns a ``Checkpoint`` (and, for a container checkpoint, the
engine's files beside its images) into plain dataclasses; nothing here
renders. ``inspector/report/views_text.py`` and ``views_json.py`` present them.
What cannot be read is recorded in ``cp.problems``, as the model does.
"""
