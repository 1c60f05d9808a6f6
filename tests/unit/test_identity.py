"""Connected components of the identity graph, on a graph small enough to draw by hand."""

import pandas as pd

from pipelines.warehouse.identity import components

# identifiers in byte order, numbered as sql/marts/identity_graph.sql numbers them
NODES = ["author:a", "author:c", "customer_id:d", "email:b", "email:e", "email:f", "email:g"]


def node(identity: str) -> int:
    return NODES.index(identity)


def test_identifiers_sharing_an_item_or_a_stored_customer_are_one_customer_rooted_at_the_smallest():
    # item 0 links b and c, item 1 links c and d; stored customer 0 holds d and a: a-b-c-d is one customer.
    # item 2 carries e alone; stored customer 1 holds f and g, which no item touches.
    edges = pd.DataFrame({"item_no": [0, 0, 1, 1, 2],
                          "node_no": [node("email:b"), node("author:c"), node("author:c"), node("customer_id:d"),
                                      node("email:e")]})
    known = pd.DataFrame({"customer_no": [0, 0, 1, 1],
                          "node_no": [node("customer_id:d"), node("author:a"), node("email:g"), node("email:f")]})
    roots = components(edges, known, len(NODES))
    assert dict(zip(NODES, (NODES[r] for r in roots), strict=True)) == {
        "author:a": "author:a", "author:c": "author:a", "customer_id:d": "author:a", "email:b": "author:a",
        "email:e": "email:e", "email:f": "email:f", "email:g": "email:f",
    }


def test_no_stored_customers():
    edges = pd.DataFrame({"item_no": [0, 1], "node_no": [0, 0]})
    roots = components(edges, pd.DataFrame({"customer_no": [], "node_no": []}, dtype="int64"), 1)
    assert roots.tolist() == [0]


def test_an_empty_graph():
    empty = pd.DataFrame({"item_no": [], "node_no": []}, dtype="int64")
    assert components(empty, pd.DataFrame({"customer_no": [], "node_no": []}, dtype="int64"), 0).tolist() == []
