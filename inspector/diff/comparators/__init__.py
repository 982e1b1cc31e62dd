"""One comparator per kind of thing (diffoscope style).

Each module compares one kind of thing across the two sides and returns its
piece of the result tree (changes, items, a process diff, page tallies);
none writes into a shared result and none renders anything.
``driver.diff_checkpoints`` calls them in order and assembles the result.
"""
