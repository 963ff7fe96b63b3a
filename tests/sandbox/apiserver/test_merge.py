"""Merge patch (RFC 7386) and strategic merge patch.

Covers: merge patch nulls delete and lists replace; strategic merge merges containers by name,
env by name, container ports by containerPort and Service ports by port; `$patch: delete` on a
list item and on a map; `$patch: replace`; `$setElementOrder` is honoured and dropped;
`$retainKeys`; `$deleteFromPrimitiveList`; finalizers merge as a set; lists without a merge key
are replaced; the kubectl `set image` patch from the wire reference.
"""

from __future__ import annotations

from serinus.sandbox.apiserver.merge import merge_patch, strategic_merge


def pod_spec(*containers: dict[str, object]) -> dict[str, object]:
    return {"spec": {"template": {"spec": {"containers": list(containers)}}}}


def test_merge_patch_deletes_with_null_and_replaces_lists() -> None:
    original = {"a": {"b": 1, "c": 2}, "items": [1, 2, 3], "keep": True}
    patched = merge_patch(original, {"a": {"b": None, "d": 4}, "items": [9]})
    assert patched == {"a": {"c": 2, "d": 4}, "items": [9], "keep": True}
    assert original["items"] == [1, 2, 3]


def test_kubectl_set_image_patch_merges_containers_by_name() -> None:
    original = pod_spec(
        {"name": "podinfod", "image": "podinfo:2.0.1", "ports": [{"containerPort": 9898}]},
        {"name": "sidecar", "image": "proxy:1"},
    )
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "podinfod"}, {"name": "sidecar"}],
                    "containers": [{"image": "podinfo:2.1.1", "name": "podinfod"}],
                }
            }
        }
    }
    patched = strategic_merge(original, patch)
    containers = patched["spec"]["template"]["spec"]
    assert containers == {
        "containers": [
            {"name": "podinfod", "image": "podinfo:2.1.1", "ports": [{"containerPort": 9898}]},
            {"name": "sidecar", "image": "proxy:1"},
        ]
    }


def test_element_order_reorders_items() -> None:
    original = pod_spec({"name": "a", "image": "1"}, {"name": "b", "image": "2"})
    patch = {
        "spec": {
            "template": {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}
        }
    }
    names = [
        c["name"]
        for c in strategic_merge(original, patch)["spec"]["template"]["spec"]["containers"]
    ]
    assert names == ["b", "a"]


def test_env_and_ports_merge_by_their_keys() -> None:
    original = pod_spec(
        {
            "name": "app",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "ports": [{"containerPort": 80, "name": "http"}],
        }
    )
    patch = pod_spec(
        {
            "name": "app",
            "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 9090}],
        }
    )
    container = strategic_merge(original, patch)["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "3"},
        {"name": "C", "value": "4"},
    ]
    assert container["ports"] == [
        {"containerPort": 80, "name": "http", "protocol": "TCP"},
        {"containerPort": 9090},
    ]


def test_service_ports_merge_by_port() -> None:
    original = {"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}}
    patched = strategic_merge(original, {"spec": {"ports": [{"port": 443, "targetPort": 8443}]}})
    assert patched["spec"]["ports"] == [
        {"port": 80, "name": "http"},
        {"port": 443, "name": "https", "targetPort": 8443},
    ]


def test_patch_delete_directives() -> None:
    original = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}},
            "strategy": {"type": "Recreate"},
        }
    }
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}},
            "strategy": {"$patch": "delete"},
        }
    }
    assert strategic_merge(original, patch) == {
        "spec": {"template": {"spec": {"containers": [{"name": "b"}]}}}
    }


def test_patch_replace_directive_on_map_and_list() -> None:
    original = {
        "metadata": {"labels": {"a": "1", "b": "2"}},
        "spec": {"containers": [{"name": "a"}]},
    }
    patch = {
        "metadata": {"labels": {"$patch": "replace", "c": "3"}},
        "spec": {"containers": [{"$patch": "replace"}, {"name": "z"}]},
    }
    patched = strategic_merge(original, patch)
    assert patched["metadata"]["labels"] == {"c": "3"}
    assert patched["spec"]["containers"] == [{"name": "z"}]


def test_retain_keys_and_delete_from_primitive_list() -> None:
    original = {
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
        "args": ["--a", "--b", "--c"],
    }
    patch = {
        "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
        "$deleteFromPrimitiveList/args": ["--b"],
    }
    assert strategic_merge(original, patch) == {
        "strategy": {"type": "Recreate"},
        "args": ["--a", "--c"],
    }


def test_finalizers_merge_as_a_set_and_plain_lists_replace() -> None:
    original = {"metadata": {"finalizers": ["a"]}, "spec": {"args": ["x", "y"]}}
    patched = strategic_merge(
        original, {"metadata": {"finalizers": ["b", "a"]}, "spec": {"args": ["z"]}}
    )
    assert patched == {"metadata": {"finalizers": ["a", "b"]}, "spec": {"args": ["z"]}}


def test_null_deletes_and_new_items_lose_directives() -> None:
    original = {"spec": {"replicas": 2, "paused": True}}
    patch = {
        "spec": {"paused": None, "template": {"spec": {"containers": [{"name": "a", "env": None}]}}}
    }
    assert strategic_merge(original, patch) == {
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a"}]}}}
    }
