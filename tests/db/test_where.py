from chalicelib.db.where import Where


def test_only_filters_given_are_added_and_values_stay_bound(db):
    evil = "x'; DROP TABLE api_keys; --"
    w = (Where().when(evil, "name = :name", name=evil).when(None, "role = :role", role="admin")
         .when(False, "revoked_at IS NULL"))
    assert w.sql == "name = :name" and w.params == {"name": evil}
    assert db.scalar(f"SELECT count(*) FROM api_keys WHERE {w.sql}", **w.params) == 0
    assert db.scalar("SELECT to_regclass('api_keys') IS NOT NULL") is True


def test_no_filter_means_true():
    assert Where().sql == "TRUE"
    assert Where("a = :a", a=1).sql == "a = :a"
