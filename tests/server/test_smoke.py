def test_healthz_reports_postgis(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json["database"] == "ok"
    assert answer.json["postgis"].startswith("3.")
