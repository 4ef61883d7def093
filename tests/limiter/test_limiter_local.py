"""Properties of the in-process backend itself, beyond the shared contract."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

import core.limiter.group
from core.limiter import (
    GroupConfig,
    GroupRemoved,
    Limiter,
    OwnerLimitReached,
    QueueFull,
    QueueTimeout,
)
from core.limiter.wakeup import Wakeup
from tests.limiter.harness import Request, enqueue, queued, running


class CountingWakeup(Wakeup):
    """A waiter's wake-up that counts how often it is set, to prove releases wake one waiter."""

    woken = 0
    count_lock = threading.Lock()

    def set(self) -> None:
        with CountingWakeup.count_lock:
            CountingWakeup.woken += 1
        super().set()


@pytest.fixture
def counting(monkeypatch):
    monkeypatch.setattr(core.limiter.group, "Wakeup", CountingWakeup)
    CountingWakeup.woken = 0
    return CountingWakeup


def test_each_freed_slot_wakes_exactly_the_next_waiter(counting):
    limiter = Limiter()
    limiter.configure(GroupConfig(name="A", limit=1))
    holder = Request(limiter, "A").start()
    assert holder.started.wait(5)
    waiters = enqueue(limiter, "A", 6)
    holder.finish()
    assert waiters[0].started.wait(5)
    assert counting.woken == 1
    assert not any(w.started.is_set() for w in waiters[1:])
    assert queued(limiter, "A") == 5

    limiter.configure(GroupConfig(name="A", limit=3))
    assert waiters[1].started.wait(5) and waiters[2].started.wait(5)
    assert counting.woken == 3
    assert (running(limiter, "A"), queued(limiter, "A")) == (3, 3)
    for waiter in waiters:
        waiter.finish()
    assert counting.woken == 6


def test_a_wakeup_stays_set_once_signalled():
    wakeup = Wakeup()
    assert wakeup.wait(0.01) is False
    wakeup.set()
    assert wakeup.wait(0) is True
    assert wakeup.wait(0) is True


def test_the_limiter_imports_neither_streamlit_nor_the_database():
    code = (
        "import sys, core.limiter; "
        "print(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'streamlit', 'sqlmodel', 'sqlalchemy', 'db'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == "[]"


def test_default_limit_must_be_possible():
    with pytest.raises(ValueError, match="at least 1"):
        Limiter(default_limit=0)


@pytest.mark.parametrize(
    ("fields", "sentence"),
    [
        ({"name": " ", "limit": 1}, "A group needs a name."),
        ({"name": "A", "limit": 0}, "Group A's limit must be at least 1 (got 0)."),
        ({"name": "A", "limit": 1, "max_queue": -1}, "Group A's queue length cannot be negative"),
        ({"name": "A", "limit": 1, "queue_timeout_s": 0}, "queue timeout must be more than 0"),
        ({"name": "A", "limit": 1, "per_owner_limit": 0}, "limit per person must be at least 1"),
    ],
)
def test_impossible_group_settings_are_refused_with_a_sentence(fields, sentence):
    with pytest.raises(ValueError) as refused:
        GroupConfig(**fields)
    assert sentence in str(refused.value)


def test_group_configs_are_frozen_and_keyed_ignoring_case():
    config = GroupConfig(name="Render", limit=2)
    assert config.key == GroupConfig(name="RENDER", limit=1).key
    with pytest.raises(AttributeError):
        config.limit = 3  # type: ignore[misc]


def test_refusal_sentences_name_the_group_and_the_number():
    assert str(QueueFull("A", 5)) == "Group A's queue is full (5 waiting); try again shortly."
    assert "does not queue" in str(QueueFull("A", 0))
    assert str(OwnerLimitReached("A", 1)) == (
        "You already have 1 run queued or running in group A (the cap per person)."
    )
    assert str(QueueTimeout("A", 30)) == (
        "Waited 30 s for group A without getting a slot; the request was withdrawn."
    )
    assert str(GroupRemoved("A")) == "Group A was removed while you were waiting."
