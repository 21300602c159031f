"""GET /api/v1/enterprises/{code}/sparkplug-nodes: the host's view of an enterprise's nodes."""

from __future__ import annotations

from services.core.db import make_engine
from services.core.store.sparkplug_nodes import NodeRow, save_nodes
from tests.integration.api.conftest import ENT_A, ApiHarness

PATH = f"/api/v1/enterprises/{ENT_A}/sparkplug-nodes"


def _seed(api: ApiHarness, state: str, rebirths: dict[str, int]) -> None:
    engine = make_engine(api.db)
    with engine.begin() as conn:
        save_nodes(
            conn,
            "energymon",
            [NodeRow("plant-1", "edge-7", ENT_A, state, 3, 2, ("meter-1",), rebirths)],
        )
    engine.dispose()


def test_nodes_are_listed_for_their_enterprise_and_updated_in_place(api: ApiHarness):
    assert api.client.get(PATH, headers=api.as_("officer")).json() == []
    _seed(api, "online", {"seq_gap": 1})
    (node,) = api.client.get(PATH, headers=api.as_("ent_a")).json()
    assert {k: v for k, v in node.items() if k != "updated_at"} == {
        "group": "plant-1",
        "node": "edge-7",
        "state": "online",
        "bd_seq": 3,
        "births": 2,
        "devices": ["meter-1"],
        "rebirth_requests": {"seq_gap": 1},
    }
    _seed(api, "offline", {"seq_gap": 1, "unknown_alias": 2})
    (node,) = api.client.get(PATH, headers=api.as_("officer")).json()
    assert node["state"] == "offline"
    assert node["rebirth_requests"] == {"seq_gap": 1, "unknown_alias": 2}


def test_another_enterprise_account_gets_404(api: ApiHarness):
    _seed(api, "online", {})
    assert api.client.get(PATH, headers=api.as_("ent_b")).status_code == 404
