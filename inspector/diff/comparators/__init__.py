"""One comparator per kind of thing (diffoscope style).

Each module compares one kind of thing across the two sides and fills its
part of the result tree; none renders anything. ``driver.diff_checkpoints``
calls them in order.
"""
