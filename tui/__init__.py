"""The Textual front end of criu-inspect (``criu-inspect tui``).

``tui.model`` and ``tui.diffview`` are headless (no Textual); ``tui.app`` and
``tui.widgets`` lay them out. Only ``inspector.commands.tui`` imports this.
"""
