"""The caches from Python: tiers, savings, per-request modes, persistence under data_dir, bad options."""

import asyncio
from decimal import Decimal

import pytest

import finops
from conftest import answer_for


class CountingProvider:
    """A Python provider that answers like a model and counts its calls; each call costs $0.001."""

    def __init__(self) -> None:
        self.calls = 0

    async def chat(self, request: dict) -> dict:
        self.calls += 1
        return {"text": answer_for(request), "input_tokens": 100, "output_tokens": 20, "cost_usd": "0.001"}


def test_exact_and_semantic_hits_cost_nothing_and_report_the_saving(bistro_path):
    p = CountingProvider()
    fo = finops.Finops(provider=p, cache=True)
    first = fo.analyze_sync(bistro_path, "Is our working capital getting tighter?", tenant="firm")
    assert first.cache == "miss" and p.calls == 3
    assert first.total_cost_usd == Decimal("0.003")
    again = fo.analyze_sync(bistro_path, "is our working capital getting tighter", tenant="firm")
    assert again.cache == "exact" and again.saved_usd == Decimal("0.003")
    assert again.total_cost_usd == Decimal("0") and again.cache_similarity is None
    close = fo.analyze_sync(bistro_path, "Is the working capital getting tighter?", tenant="firm")
    assert close.cache == "semantic" and close.cache_similarity >= Decimal("0.8")
    assert p.calls == 3
    # The guard: the opposite question runs.
    opposite = fo.analyze_sync(bistro_path, "Is our working capital not getting tighter?", tenant="firm")
    assert opposite.cache == "miss" and p.calls == 6
    # Another tenant never shares.
    assert fo.analyze_sync(bistro_path, "Is our working capital getting tighter?", tenant="other").cache == "miss"


def test_request_modes_and_max_age(bistro_path):
    p = CountingProvider()
    fo = finops.Finops(provider=p, cache={"semantic": False, "plans": False})
    q = "Is our working capital getting tighter?"
    assert fo.analyze_sync(bistro_path, q, cache_mode="read_only").cache == "miss"
    assert fo.analyze_sync(bistro_path, q, cache_mode="off").cache == "miss"
    assert fo.analyze_sync(bistro_path, q, cache_mode="write_only").cache == "miss"
    assert fo.analyze_sync(bistro_path, q).cache == "exact"
    assert fo.analyze_sync(bistro_path, q, max_cache_age=0.0).cache == "miss"
    with pytest.raises(finops.InvalidArgumentError) as e:
        fo.analyze_sync(bistro_path, q, cache_mode="sometimes")
    assert e.value.field == "cache_mode"
    with pytest.raises(finops.InvalidArgumentError) as e:
        fo.analyze_sync(bistro_path, q, max_cache_age=-1.0)
    assert e.value.field == "max_cache_age"


def test_no_cache_unless_asked(bistro_path):
    p = CountingProvider()
    fo = finops.Finops(provider=p)
    for _ in range(2):
        assert fo.analyze_sync(bistro_path, "Is our working capital getting tighter?").cache == "miss"
    assert p.calls == 6


def test_caches_under_data_dir_survive_the_instance(bistro_path, tmp_path):
    q = "Is our working capital getting tighter?"
    first = finops.Finops(provider=CountingProvider(), cache={"data_dir": str(tmp_path)})
    assert first.analyze_sync(bistro_path, q).cache == "miss"
    p = CountingProvider()
    second = finops.Finops(provider=p, cache={"data_dir": str(tmp_path)})
    hit = second.analyze_sync(bistro_path, q)
    assert hit.cache == "exact" and p.calls == 0
    assert (tmp_path / "finops.db").exists()


@pytest.mark.parametrize(
    "cache, field",
    [
        ({"threshold": 2}, "cache.threshold"),
        ({"treshold": 0.9}, "cache.treshold"),
        ({"ttl_seconds": 0}, "cache.ttl_seconds"),
        ({"redis_url": "redis://127.0.0.1:6379"}, "cache.redis_url"),
        ("yes", "cache"),
        ({"threshold": object()}, "cache.threshold"),
    ],
)
def test_bad_cache_options_name_the_field(cache, field):
    with pytest.raises(finops.InvalidArgumentError) as e:
        finops.Finops(offline=True, cache=cache)
    assert e.value.field == field


def test_concurrent_analyses_share_the_cache(bistro_path):
    p = CountingProvider()
    fo = finops.Finops(provider=p, cache=True)

    async def main() -> list:
        await fo.analyze(bistro_path, "Is our working capital getting tighter?")
        return await asyncio.gather(
            *[fo.analyze(bistro_path, "Is our working capital getting tighter?") for _ in range(20)]
        )

    results = asyncio.run(main())
    assert all(a.cache == "exact" for a in results)
    assert p.calls == 3


class DictCache:
    """A host's exact tier: an async key-value store (a Redis or memcached client in a real app)."""

    def __init__(self) -> None:
        self.values: dict = {}
        self.gets = 0

    async def get(self, tenant: str, key: str):
        self.gets += 1
        return self.values.get((tenant, key), (None, None))[1]

    async def put(self, tenant: str, client: str, key: str, value: str) -> None:
        self.values[(tenant, key)] = (client, value)

    def invalidate_tenant(self, tenant: str) -> None:
        self.values = {k: v for k, v in self.values.items() if k[0] != tenant}

    def invalidate_client(self, tenant: str, client: str) -> None:
        self.values = {k: v for k, v in self.values.items() if not (k[0] == tenant and v[0] == client)}


def test_a_python_cache_object_is_the_exact_tier(bistro_path):
    host = DictCache()
    p = CountingProvider()
    fo = finops.Finops(provider=p, cache=host)
    q = "Is our working capital getting tighter?"
    assert fo.analyze_sync(bistro_path, q, tenant="firm").cache == "miss"
    assert len(host.values) == 1
    stored = next(iter(host.values.values()))[1]
    assert '"stored_at"' in stored and '"analysis"' in stored

    async def main():
        return await fo.analyze(bistro_path, q, tenant="firm")

    assert asyncio.run(main()).cache == "exact"
    assert p.calls == 3 and host.gets >= 2
    # What the host's store returns is checked: garbage is not served (the analysis runs instead).
    for k in host.values:
        host.values[k] = (host.values[k][0], "not json")
    assert fo.analyze_sync(bistro_path, q, tenant="firm").cache != "exact"


def test_a_cache_object_without_the_methods_is_refused():
    class Half:
        def get(self, tenant, key):
            return None

        def put(self, tenant, client, key, value):
            pass

    with pytest.raises(finops.InvalidArgumentError) as e:
        finops.Finops(offline=True, cache=Half())
    assert e.value.field == "cache"
