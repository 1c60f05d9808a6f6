"""Customer identity resolution: one customer's review, survey response and mention share a key.

Every item carries hashed identifiers (CX_PII_KEY HMACs, pipelines/enrich/pii.py): an e-mail and
a customer id link items across sources, an author handle links items within its own source.
Items sharing any identifier belong to one customer (connected components of the identity
graph). The customer's key derives from the smallest identifier of its component
(marts.customer_key(), migration 14), so the same data gives the same keys whatever order the
days were loaded in.

Incremental: only the items a build rewrites are read (sql/marts/rebuild_items.sql), plus the
stored identities of the customers they touch; the items it keeps were resolved when written, and
their links are stored. When a new item links two known customers they merge: the survivor is
the key the merged component derives, the other keeps its dim_customer row with `merged_into` set
and its other facts are re-pointed. Links are never undone by later data.

The identifiers stay in the warehouse (sql/marts/identity_graph.sql numbers them); Python sees
integers only: on a large day 450,000 edges as strings held about 450 MB of the mart stage's peak.
customer_identity declares no foreign key (migration 021): the customer of every identifier
written is looked up in dim_customer instead, as the marts checks do for the facts' references.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import sparse
from scipy.sparse import csgraph

from pipelines.config import NAME_RE
from pipelines.errors import ConfigError
from pipelines.quality.marts import reference_row
from pipelines.warehouse.db import frame_as_table, read_frame, run_sql_file


def components(edges: pd.DataFrame, known: pd.DataFrame, nodes: int) -> np.ndarray:
    """The root of every identifier, numbered 0..nodes-1 in identifier order: identifiers sharing
    an item (`edges`: item_no, node_no) or a stored customer (`known`: customer_no, node_no) are
    one connected component, whose root is its smallest node. Returns the root per node."""
    items = edges["item_no"].to_numpy(np.int64)
    groups = np.concatenate([items, known["customer_no"].to_numpy(np.int64) + items.max(initial=-1) + 1])
    members = np.concatenate([edges["node_no"].to_numpy(np.int64), known["node_no"].to_numpy(np.int64)])
    size = nodes + groups.max(initial=-1) + 1
    # bipartite graph identifier -- group (an item or a stored customer): one edge per membership
    graph = sparse.coo_matrix((np.ones(len(members), dtype=bool), (members, groups + nodes)), shape=(size, size))
    _, labels = csgraph.connected_components(graph, directed=False)
    labels = labels[:nodes]
    smallest = np.full(labels.max(initial=-1) + 1, nodes)
    np.minimum.at(smallest, labels, np.arange(nodes))
    return smallest[labels]


def resolve_customers(conn: sa.Connection) -> dict[str, Any]:
    """Resolve the items a build rewrites to customers, leaving tmp_item_customer (feedback_id,
    customer_key; items without any identifier get no row) for the facts and tmp_identity_merged
    (customer_key, survivor) for the spans at risk (sql/marts/changed_customers.sql); build_star
    drops both.

    Writes marts.dim_customer and marts.customer_identity for every customer touched and
    re-points the facts of merged customers. Returns the check of the identifiers written: a
    critical result counting those whose customer has no dim_customer row (`identity_references`).
    """
    run_sql_file(conn, "marts/identity_graph.sql")
    edges = read_frame(conn, sa.text(
        "select dense_rank() over (order by e.feedback_id) - 1 as item_no, n.node_no from tmp_identity_edges as e "
        "join tmp_identity_nodes as n on n.identity = e.identity"))
    known = read_frame(conn, sa.text(
        "select dense_rank() over (order by k.customer_key) - 1 as customer_no, n.node_no "
        "from tmp_identity_known as k join tmp_identity_nodes as n on n.identity = k.identity"))
    # every node is an edge's or a stored customer's: the reads above number them all
    numbered = np.concatenate([edges["node_no"].to_numpy(np.int64), known["node_no"].to_numpy(np.int64)])
    nodes = int(numbered.max(initial=-1)) + 1
    roots = pd.DataFrame({"node_no": np.arange(nodes, dtype=np.int64), "root_no": components(edges, known, nodes)})
    with frame_as_table(conn, roots, "tmp_identity_roots"):
        run_sql_file(conn, "marts/identity_resolve.sql")
    checked = identity_references(conn)
    conn.exec_driver_sql("drop table tmp_identity_owner")
    return checked


def identity_references(conn: sa.Connection, written: str = "tmp_identity_owner") -> dict[str, Any]:
    """The reference check of the identifiers a build wrote (`written`: identity, customer_key, the
    rows it upserted into marts.customer_identity): how many name a customer dim_customer lacks."""
    if not NAME_RE.match(written):
        raise ConfigError(f"not an allowed identifier: {written!r}")
    total, bad = conn.execute(sa.text(
        f"select count(*), count(*) filter (where d.customer_key is null) from {written} as w "
        "left join marts.dim_customer as d on d.customer_key = w.customer_key")).one()
    return reference_row("customer_identity", "customer_key", ("dim_customer", "customer_key"), bad, total)
