"""One module per rule; each defines ``RULE = Rule(...)`` (see checks/engine.py)."""
