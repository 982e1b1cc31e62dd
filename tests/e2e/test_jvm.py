"""A JVM serving HTTP (the distribution's JDK, _scenario-src/Hello.java), as the Java teams ship them."""

from __future__ import annotations

from .lab import assert_agrees
from .programs import jvm_http


def test_jvm_dumped_unprivileged_restores_as_its_user_and_root(lab):
    user = lab.criu.user
    jvm = jvm_http(lab, user=user, nnp=True)
    dump = lab.dump(jvm.pid, "jvm-http", user=user, data=[jvm.data])
    for restorer in (user, None):
        report, outcome = lab.judge(dump, jvm.probe, user=restorer)
        assert_agrees(report, outcome)
        assert outcome.restored, outcome.describe()
