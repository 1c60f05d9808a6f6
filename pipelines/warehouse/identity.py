"""Customer identity resolution: one customer's review, survey response and mention share a key.

Every item carries hashed identifiers (CX_PII_KEY HMACs, pipelines/enrich/pii.py): an e-mail and
a customer id link items across sources, an author handle links items within its own source.
Items sharing any identifier belong to one customer (connected components of the identity
graph). The customer's key derives from the smallest identifier of its component, so the same
data gives the same keys whatever order the days were loaded in.

Incremental: only the dirty dates' items are read, plus the stored identities of the customers
they touch. When a new item links two known customers they merge: the survivor is the key the
merged component derives, the other keeps its dim_customer row with `merged_into` set and its
facts on other dates are re-pointed. Links are never undone by later data.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import sparse
from scipy.sparse import csgraph

from pipelines.warehouse.db import frame_as_table, read_frame, sql_text

FACT_TABLES = ("marts.fct_review", "marts.fct_mention", "marts.fct_survey_response", "marts.fct_feedback")
ITEM_CUSTOMER_COLUMNS = ["feedback_id", "customer_key"]


def customer_key(identity: str) -> str:
    """The key of the customer whose smallest identifier is `identity` (opaque, fixed length)."""
    return "c_" + hashlib.sha256(identity.encode()).hexdigest()[:30]


def components(edges: pd.DataFrame, known: pd.DataFrame) -> pd.Series:
    """The customer key of every identifier: identifiers sharing an item (`edges`: feedback_id,
    identity) or a stored customer (`known`: customer_key, identity) are one connected component,
    keyed by its smallest identifier. Returns a Series indexed by identifier."""
    # sorted: the smallest code of a component is its smallest identifier
    codes, names = pd.factorize(pd.concat([edges["identity"], known["identity"]], ignore_index=True), sort=True)
    names = np.asarray(names, dtype=object)
    item_codes = pd.factorize(edges["feedback_id"])[0]
    customer_codes = pd.factorize(known["customer_key"])[0]
    groups = np.concatenate([item_codes, customer_codes + (item_codes.max(initial=-1) + 1)])
    size = len(names) + (groups.max(initial=-1) + 1)
    # bipartite graph identifier -- group (an item or a stored customer): one edge per membership
    graph = sparse.coo_matrix((np.ones(len(codes), dtype=np.int8), (codes, groups + len(names))), shape=(size, size))
    _, labels = csgraph.connected_components(graph, directed=False)
    labels = labels[: len(names)]
    smallest = np.full(labels.max(initial=-1) + 1, len(names))
    np.minimum.at(smallest, labels, np.arange(len(names)))
    keys = np.array([customer_key(name) for name in names[smallest]], dtype=object)
    return pd.Series(keys[labels], index=pd.Index(names, name="identity"), name="customer_key")


def resolve_customers(conn: sa.Connection) -> pd.DataFrame:
    """Resolve the dirty dates' items to customers; returns (feedback_id, customer_key) per item.

    Writes marts.dim_customer and marts.customer_identity for every customer touched and
    re-points the facts of merged customers. Items without any identifier get no row.
    """
    edges = read_frame(conn, sa.text(sql_text("marts/customer_identities.sql")))
    if edges.empty:
        return pd.DataFrame(columns=ITEM_CUSTOMER_COLUMNS, dtype="string")
    identities = edges.drop_duplicates("identity")[["identity", "identity_kind"]].reset_index(drop=True)
    with frame_as_table(conn, identities[["identity"]], "tmp_identities"):
        known = read_frame(conn, sa.text(
            "select k.identity, k.identity_kind, k.customer_key from marts.customer_identity as k "
            "where k.customer_key in (select c.customer_key from marts.customer_identity as c "
            "join tmp_identities as t on t.identity = c.identity)"))
    owner = components(edges, known)

    links = pd.concat([identities, known[["identity", "identity_kind"]]]).drop_duplicates("identity", keep="last")
    links = links.assign(customer_key=owner.reindex(links["identity"]).to_numpy())
    flags = pd.DataFrame({"customer_key": links["customer_key"], "identity": links["identity"],
                          "has_email": (links["identity_kind"] == "email").to_numpy(bool),
                          "has_customer_id": (links["identity_kind"] == "customer_id").to_numpy(bool)})
    customers = flags.groupby("customer_key").agg(
        identity_count=("identity", "size"), has_email=("has_email", "any"), has_customer_id=("has_customer_id", "any"),
    ).reset_index()
    merged = known.assign(survivor=owner.reindex(known["identity"]).to_numpy())
    merged = merged.loc[merged["customer_key"] != merged["survivor"], ["customer_key", "survivor"]]
    merged = merged.drop_duplicates("customer_key")
    _write(conn, customers, links, merged)

    items = edges.drop_duplicates("feedback_id")[["feedback_id", "identity"]]
    return pd.DataFrame({"feedback_id": items["feedback_id"].to_numpy(),
                         "customer_key": owner.reindex(items["identity"]).to_numpy()})


def _write(conn: sa.Connection, customers: pd.DataFrame, links: pd.DataFrame, merged: pd.DataFrame) -> None:
    """Upsert customers and identities, then re-point and mark the customers merged away."""
    with frame_as_table(conn, customers, "tmp_customers"):
        conn.exec_driver_sql(
            "insert into marts.dim_customer (customer_key, identity_count, has_email, has_customer_id, merged_into) "
            "select customer_key, identity_count, has_email, has_customer_id, null from tmp_customers "
            "on conflict (customer_key) do update set identity_count = excluded.identity_count, "
            "has_email = excluded.has_email, has_customer_id = excluded.has_customer_id, merged_into = null")
    with frame_as_table(conn, links, "tmp_links"):
        conn.exec_driver_sql(
            "insert into marts.customer_identity (identity, identity_kind, customer_key) "
            "select identity, identity_kind, customer_key from tmp_links "
            "on conflict (identity) do update set customer_key = excluded.customer_key")
    if merged.empty:
        return
    with frame_as_table(conn, merged, "tmp_merged"):
        for table in FACT_TABLES:
            conn.exec_driver_sql(
                f"update {table} set customer_key = m.survivor from tmp_merged as m "
                f"where {table}.customer_key = m.customer_key")
        conn.exec_driver_sql(
            "update marts.dim_customer set merged_into = m.survivor from tmp_merged as m "
            "where marts.dim_customer.customer_key = m.customer_key")
