"""The Textual front end of criu-inspect (``criu-inspect tui``).

``tui.model`` (rows, hex document, session, diff view) is headless (no
Textual); ``tui.app`` and ``tui.widgets`` lay it out. Only
``inspector.commands.tui`` imports this.
"""
