"""Connected components of the identity graph, on a graph small enough to draw by hand."""

import hashlib

import pandas as pd

from pipelines.warehouse.identity import components


def key(identity: str) -> str:
    return "c_" + hashlib.sha256(identity.encode()).hexdigest()[:30]


def test_identifiers_sharing_an_item_or_a_stored_customer_are_one_customer_keyed_by_the_smallest():
    # item 1 links b and c, item 2 links c and d; stored customer K holds d and a: a-b-c-d is one customer.
    # item 3 carries e alone; stored customer L holds f and g, which no item touches.
    edges = pd.DataFrame({"feedback_id": ["1", "1", "2", "2", "3"],
                          "identity": ["email:b", "author:c", "author:c", "customer_id:d", "email:e"]})
    known = pd.DataFrame({"customer_key": ["K", "K", "L", "L"],
                          "identity": ["customer_id:d", "author:a", "email:g", "email:f"]})
    owner = components(edges, known)
    assert owner.to_dict() == {
        "author:a": key("author:a"), "author:c": key("author:a"), "customer_id:d": key("author:a"),
        "email:b": key("author:a"), "email:e": key("email:e"), "email:f": key("email:f"),
        "email:g": key("email:f"),
    }


def test_no_stored_customers():
    edges = pd.DataFrame({"feedback_id": ["x", "y"], "identity": ["email:z", "email:z"]})
    owner = components(edges, pd.DataFrame({"customer_key": [], "identity": []}, dtype=object))
    assert owner.to_dict() == {"email:z": key("email:z")}
