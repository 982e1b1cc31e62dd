"""Message classes outlive their instances: upb must never see a collected class (schema._keep_classes)."""

from __future__ import annotations

import gc
import weakref

from inspector.codec import schema
from inspector.codec.image import open_image

from ..conftest import corpus_dir


def _nested_class_refs() -> list[weakref.ref]:
    core = schema.message_class("core_pb2", "core_entry")()
    creds = schema.message_class("core_pb2", "core_entry")().thread_core.creds  # two levels down
    return [weakref.ref(type(core.tc)), weakref.ref(type(core.thread_core)), weakref.ref(type(creds))]


def test_nested_message_classes_survive_their_last_instance():
    refs = _nested_class_refs()
    gc.collect()
    assert [r() is not None for r in refs] == [True, True, True]
    assert [r().DESCRIPTOR.name for r in refs] == ["task_core_entry", "thread_core_entry", "creds_entry"]


def test_a_decoded_checkpoint_leaves_no_message_class_to_collect():
    directory = corpus_dir("plain")
    cycle: list = []
    for path in sorted(directory.glob("*.img")):
        image = open_image(path)
        if image.known:
            cycle.append(image)
    cycle.append(cycle)  # every decoded message in one garbage cycle, as the model's caches make them
    classes = {type(m) for image in cycle[:-1] for m in _messages(image)}
    refs = [weakref.ref(c) for c in classes]
    del cycle, classes
    gc.collect()
    assert len(refs) > 10 and all(r() is not None for r in refs)


def _messages(image) -> list:
    out = []
    for entry in image.entries:
        stack = [entry.message]
        while stack:
            m = stack.pop()
            out.append(m)
            for field, value in m.ListFields():
                if field.message_type is None:
                    continue
                if hasattr(value, "ListFields"):
                    stack.append(value)
                else:  # a repeated message field (a map's values are not messages in these schemas)
                    stack.extend(value)
    return out
