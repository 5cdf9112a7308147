"""Shared test settings: hypothesis profiles (see tests/helpers.py for the NumPy checker).

The default profile keeps ``pytest tests/core`` fast (20 examples a test);
``HYPOTHESIS_PROFILE=thorough`` runs over ten times as many, for nightly runs or
after changing the core.
"""
import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("chunkflow", max_examples=20, **_COMMON)
settings.register_profile("thorough", max_examples=250, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "chunkflow"))
