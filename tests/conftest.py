"""Test-suite setup: no network, and a throw-away cache so tests never touch the user's runs."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["COURSEKIT_OFFLINE"] = "1"
os.environ.pop("COURSEKIT_TINY", None)  # tiny gpu runs only where a test asks for one


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    old = os.environ.get("COURSEKIT_CACHE")
    os.environ["COURSEKIT_CACHE"] = str(tmp_path_factory.mktemp("coursekit-cache"))
    yield
    if old is None:
        os.environ.pop("COURSEKIT_CACHE", None)
    else:
        os.environ["COURSEKIT_CACHE"] = old
