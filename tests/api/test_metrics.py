"""/metrics is not public: it needs an admin API key (the listener of its own, LANGGANAN_METRICS_ADDRESS,
is tested on a real process in tests/integration/test_served.py)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.api.test_protocol import integration_headers
from tests.conftest import Env


def test_metrics_need_an_admin_key(env: Env) -> None:
    acc = env.account()
    env.ok(env.post(f"/v1/accounts/{acc['id']}/subscription/change", {"plan": "growth"}))  # one unpaid invoice
    env.buy(env.account()["id"], "pro")  # one paid
    anonymous = env.client.get("/metrics", headers={})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "missing_api_key"
    wrong = env.client.get("/metrics", headers={"Authorization": "Bearer lgn_nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    integration = env.client.get("/metrics", headers=integration_headers(env))
    assert integration.status_code == 403 and integration.json()["error"]["code"] == "forbidden"
    res = env.get("/metrics")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(res.text)}
    assert families["langganan_invoices"].type == "gauge"
    by_status = {s.labels["status"]: s.value for s in families["langganan_invoices"].samples}
    assert by_status == {"paid": 1, "unpaid": 1}
