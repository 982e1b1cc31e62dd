"""Widgets of the criu-inspect TUI: each takes model objects and lays them out."""
