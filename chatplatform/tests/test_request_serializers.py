"""Request serializers copy their declared fields shallowly: each instance must
still own its fields, as with DRF's deep copies."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from rest_framework import serializers

from chatplatform.api.serializers import RequestSerializer


class Query(RequestSerializer):
    search = serializers.CharField(required=False, max_length=5)
    kind = serializers.ChoiceField(choices=["a", "b"], required=False)
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)


def test_each_instance_owns_its_bound_fields():
    first, second = Query(), Query()
    for name in ("search", "kind", "ids"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    assert first.fields["ids"].child is not second.fields["ids"].child
    assert first.fields["ids"].child.parent is first.fields["ids"]
    assert Query._declared_fields["search"].parent is None  # the declared ones stay unbound


def test_validation_is_unchanged_and_independent_across_threads():
    cases = [({"search": "son", "kind": "a", "ids": [1, 2]}, True), ({"search": "toolong"}, False)]
    cases += [({"kind": "c"}, False), ({"ids": [0]}, False)]

    def check(case: tuple[dict, bool]) -> tuple[bool, dict]:
        query = Query(data=case[0])
        return query.is_valid(), query.errors

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(check, cases * 50))
    assert [valid for valid, _ in results] == [valid for _, valid in cases * 50]
    errors = dict(zip(["search", "kind", "ids"], [r[1] for r in results[1:4]], strict=True))
    assert "no more than 5 characters" in str(errors["search"]["search"][0])
    assert "is not a valid choice" in str(errors["kind"]["kind"][0])
    assert errors["ids"]["ids"] == {0: ["Ensure this value is greater than or equal to 1."]}
