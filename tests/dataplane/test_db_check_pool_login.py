"""db-check judges the pooled services' login (`tenancy_pool`) as an attacker would use it: each
weakness planted by hand (a right of its own, INHERIT, a membership it should not hold) is reported,
and what db-bootstrap leaves is not. Real PostgreSQL."""

from __future__ import annotations

import pytest

from tenancy.dataplane.apply import DataPlaneError
from tenancy.dataplane.db_check import KINDS, exit_code
from tenancy.registry.naming import POOL_DATABASE_LOGIN

from .test_db_check import base, check, make_checked  # noqa: F401  (base: a fixture)

LOGIN = POOL_DATABASE_LOGIN


@pytest.fixture
def checked(database, base):  # noqa: F811
    return make_checked(database, base)


def login_findings(pool) -> list[str]:
    return [f.message for f in check(pool) if f.kind == "pool-login"]


def test_the_login_db_bootstrap_leaves_is_clean_and_may_set_role_to_active_pooled_tenants(checked):
    assert "pool-login" in KINDS
    assert login_findings(checked) == []
    with checked.superuser() as su:
        members = {r for (r,) in su.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s", [LOGIN]).fetchall()}
    # the active row and schema tenants; not the suspended one, not the one with a database of its own
    assert members == {checked.role(k) for k in ("a", "b", "c")}


PLANTED = {
    # name: (statements as the superuser, {a} {d} {s} for roles, {db} for the database; a fragment of the
    # message; what db-bootstrap then does: "mends", "refuses" (a superuser must), or "keeps" (reported still))
    "inherits every tenant's rights at once": (["ALTER ROLE {login} INHERIT"], "has INHERIT", "mends"),
    "may bypass row security": (["ALTER ROLE {login} BYPASSRLS"], "has BYPASSRLS", "refuses"),
    "a suspended tenant's role": (["GRANT {s} TO {login}"], "is a member of {s}", "mends"),
    "a database tenant's role": (["GRANT {d} TO {login}"], "is a member of {d}", "mends"),
    "a built-in role that reads everything": (["GRANT pg_read_all_data TO {login}"], "is a member of pg_read_all_data",
                                              "mends"),
    "a tenant's role with admin option": (["GRANT {a} TO {login} WITH ADMIN OPTION"], "holds {a} WITH ADMIN OPTION",
                                          "mends"),
    "a table grant of its own": (["GRANT SELECT ON shared.notes TO {login}"], "holds rights on table shared.notes",
                                 "mends"),
    "CREATE in the shared schema": (["GRANT CREATE ON SCHEMA shared TO {login}"], "holds rights on schema shared",
                                    "mends"),
    "a table of its own": (["CREATE TABLE shared.scratch (x int)", "ALTER TABLE shared.scratch OWNER TO {login}"],
                           "owns shared.scratch", "keeps"),
}
CLEANUP = ["ALTER ROLE {login} NOINHERIT NOBYPASSRLS", "DROP TABLE IF EXISTS shared.scratch",
           "REVOKE pg_read_all_data FROM {login}"]  # roles are the server's: leave the login as a new one


@pytest.mark.parametrize("planted", list(PLANTED))
def test_each_weakness_of_the_login_is_reported_and_db_bootstrap_mends_what_it_may(checked, planted):
    statements, fragment, then = PLANTED[planted]
    names = {k: checked.role(k) for k in checked.tenants} | {"db": checked.name, "login": LOGIN}
    with checked.superuser() as su:
        for statement in statements:
            su.execute(statement.format(**names))
    try:
        found = login_findings(checked)
        assert any(fragment.format(**names) in message for message in found), found
        assert exit_code(check(checked)) == 1
        if then == "refuses":
            with pytest.raises(DataPlaneError, match="a superuser must remove that by hand"):
                checked.bootstrap(as_superuser=True)
            return
        checked.bootstrap(as_superuser=True)
        remaining = login_findings(checked)
        assert remaining == ([] if then == "mends" else found), remaining
    finally:
        with checked.superuser() as su:
            for statement in CLEANUP:
                su.execute(statement.format(**names))
