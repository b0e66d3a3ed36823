"""finops.Vault, finops.JwtVerifier and finops.verify_audit: analyses stored encrypted (embedded SQLite directory
and PostgreSQL), who may read, review, sign off, export and erase, and bad input."""

import json
import os
import pathlib
import secrets
import time
import uuid
from typing import Any, Dict

import jwt
import pytest

import finops

SECRET = "a-shared-secret-of-at-least-32-bytes" * 2


def token(claims: Dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    now = int(time.time())
    base = {"sub": "u1", "iss": "https://idp.example", "aud": "finops", "exp": now + 600}
    return jwt.encode({**base, **claims}, secret, algorithm=alg)


@pytest.fixture
def vault_dir(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    monkeypatch.delenv("FINOPS_MASTER_KEY", raising=False)
    return tmp_path / "vault"


async def analysis(bistro_path: pathlib.Path, tenant: str, client: str) -> finops.Analysis:
    fo = finops.Finops(offline=True)
    return await fo.analyze(bistro_path, "Analyse la rentabilité", tenant=tenant, client=client)


async def test_saved_analyses_are_encrypted_read_back_and_scoped(
    vault_dir: pathlib.Path, bistro_path: pathlib.Path
) -> None:
    v = await finops.Vault.open(str(vault_dir))
    cpa = finops.Principal("firm-a", "cpa")
    a = await analysis(bistro_path, "firm-a", "bistro")
    b = await analysis(bistro_path, "firm-a", "garage")
    await v.save(cpa, a)
    await v.save(cpa, b)

    back = await v.get(cpa, a.id)
    assert back.report == a.report and back.figures == a.figures
    assert [x.id for x in await v.list(cpa)] == [a.id, b.id]
    own = finops.Principal("firm-a", "client", "bistro")
    assert [x.id for x in await v.list(own)] == [a.id]
    assert (await v.get(own, a.id)).id == a.id

    # Another company's client and another firm are denied, with the reason.
    with pytest.raises(finops.AccessDeniedError) as denied:
        await v.get(finops.Principal("firm-a", "client", "garage"), a.id)
    assert "own company" in denied.value.reason
    # A principal reads only in its own firm: another firm's analysis is simply not there for it.
    with pytest.raises(finops.InvalidArgumentError):
        await v.get(finops.Principal("firm-b", "cpa"), a.id)
    with pytest.raises(finops.AccessDeniedError):
        await v.save(finops.Principal("firm-b", "cpa"), a)
    with pytest.raises(finops.InvalidArgumentError) as missing:
        await v.get(cpa, "no-such-id")
    assert missing.value.field == "id"

    # Nothing readable in the database file: not the company, not the question, not the report.
    raw = b"".join(p.read_bytes() for p in vault_dir.iterdir() if p.name.startswith("finops.db"))
    for secret in ["Bistro Saint-Denis", "Analyse la rentabilité", a.report.splitlines()[2]]:
        assert secret.encode() not in raw, secret

    # A second opening (another process, the next day) reads what the first wrote, with the key file.
    again = await finops.Vault.open(str(vault_dir))
    assert (await again.get(cpa, b.id)).report == b.report


async def test_review_and_sign_off_before_a_client_sees_it(
    vault_dir: pathlib.Path, bistro_path: pathlib.Path
) -> None:
    v = await finops.Vault.open(str(vault_dir), require_sign_off=True)
    client = finops.Principal("firm-s", "client", "bistro")
    cpa = finops.Principal("firm-s", "cpa")
    a = await analysis(bistro_path, "firm-s", "bistro")
    await v.save(client, a)

    assert (await v.review(cpa, a.id))["status"] == "draft"
    with pytest.raises(finops.AccessDeniedError):
        await v.get(client, a.id)
    assert await v.list(client) == []
    # Only a CPA of the firm acts on the review.
    for who in [client, finops.Principal("firm-s", "admin")]:
        with pytest.raises(finops.AccessDeniedError):
            await v.act(who, a.id, "sign_off")
    with pytest.raises(finops.InvalidArgumentError):
        await v.act(finops.Principal("firm-t", "cpa"), a.id, "sign_off")

    noted = await v.act(cpa, a.id, "annotate", note="Marge brute vérifiée avec le grand livre.")
    assert noted["notes"][0]["text"].startswith("Marge brute") and noted["status"] == "draft"
    assert (await v.act(cpa, a.id, "reviewed"))["status"] == "reviewed"
    signed = await v.act(cpa, a.id, "sign_off")
    assert signed["status"] == "signed_off" and signed["signed_off_by"]["role"] == "cpa"
    assert signed["signed_off_at"]
    assert (await v.get(client, a.id)).id == a.id

    for action, note, field in [("annotate", None, "note"), ("approve", None, "action"), ("sign_off", "x", "note")]:
        with pytest.raises(finops.InvalidArgumentError) as bad:
            await v.act(cpa, a.id, action, note=note)
        assert bad.value.field == field


async def test_the_audit_trail_is_exported_by_an_admin_and_verified_offline(
    vault_dir: pathlib.Path, bistro_path: pathlib.Path
) -> None:
    v = await finops.Vault.open(str(vault_dir))
    cpa, admin = finops.Principal("firm-x", "cpa"), finops.Principal("firm-x", "admin")
    a = await analysis(bistro_path, "firm-x", "bistro")
    await v.save(cpa, a)
    with pytest.raises(finops.AccessDeniedError):
        await v.get(finops.Principal("firm-x", "client", "other"), a.id)
    with pytest.raises(finops.AccessDeniedError):
        await v.export_audit(cpa)

    trail = await v.export_audit(admin)
    entries = finops.verify_audit(trail)
    actions = [e["action"] for e in entries]
    assert actions[:2] == ["analysis", "access_denied"] and "access_denied" in actions[2:]
    assert entries[0]["subject"] == a.id
    assert "Bistro" not in trail

    # With the firm's key: every MAC too. A MAC replaced (as a forger recomputing hashes would have to) is caught.
    assert [e["seq"] for e in await v.verify_audit(admin, trail)] == [e["seq"] for e in entries]
    lines = trail.splitlines()
    forged = json.loads(lines[0])
    forged["mac"] = "00" * 32
    forged_trail = "\n".join([json.dumps(forged)] + lines[1:])
    assert len(finops.verify_audit(forged_trail)) == len(entries), "well-formed"
    with pytest.raises(finops.IntegrityError):
        await v.verify_audit(admin, forged_trail)
    with pytest.raises(finops.AccessDeniedError):
        await v.verify_audit(cpa, trail)
    with pytest.raises(finops.IntegrityError):
        finops.verify_audit("\n".join(lines[:-2] + lines[-1:]))  # the last entry cut, the head kept

    edited = json.loads(lines[0])
    edited["action"] = "nothing_to_see"
    for broken in [
        "\n".join([json.dumps(edited)] + lines[1:]),  # an edited entry
        "\n".join(lines[1:]),  # the first one deleted
        "\n".join([lines[1], lines[0]] + lines[2:]),  # two swapped
        "not json",
    ]:
        with pytest.raises(finops.IntegrityError):
            finops.verify_audit(broken)


async def test_keys_rotate_and_an_erased_client_is_gone(
    vault_dir: pathlib.Path, bistro_path: pathlib.Path
) -> None:
    v = await finops.Vault.open(str(vault_dir))
    cpa, admin = finops.Principal("firm-e", "cpa"), finops.Principal("firm-e", "admin")
    a = await analysis(bistro_path, "firm-e", "bistro")
    b = await analysis(bistro_path, "firm-e", "garage")
    await v.save(cpa, a)
    key_id = await v.rotate_key(admin)
    assert isinstance(key_id, str) and key_id
    await v.save(cpa, b)
    assert (await v.get(cpa, a.id)).report == a.report  # written under the old key, still read
    # Only the analysis written before the rotation moves to the new key.
    assert await v.reencrypt(admin) == 1
    for admin_only in [v.rotate_key(cpa), v.reencrypt(cpa), v.erase_client(cpa, "bistro"), v.erase_tenant(cpa)]:
        with pytest.raises(finops.AccessDeniedError):
            await admin_only

    assert await v.erase_client(admin, "bistro") == 1
    with pytest.raises(finops.InvalidArgumentError):
        await v.get(cpa, a.id)
    assert [x.id for x in await v.list(cpa)] == [b.id]
    await v.erase_tenant(admin)
    assert await v.list(cpa) == []


async def test_a_postgres_vault_needs_the_master_key_and_shares_analyses(
    bistro_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = os.environ["FINOPS_TEST_POSTGRES_URL"]
    monkeypatch.delenv("FINOPS_MASTER_KEY", raising=False)
    with pytest.raises(finops.InvalidArgumentError) as no_key:
        await finops.Vault.open(url)
    assert no_key.value.field == "FINOPS_MASTER_KEY"

    monkeypatch.setenv("FINOPS_MASTER_KEY", secrets.token_hex(32))
    tenant = f"firm-{uuid.uuid4().hex}"
    one, two = await finops.Vault.open(url), await finops.Vault.open(url)
    cpa = finops.Principal(tenant, "cpa")
    a = await analysis(bistro_path, tenant, "bistro")
    await one.save(cpa, a)
    assert (await two.get(cpa, a.id)).report == a.report


async def test_bad_locations_are_refused_with_the_field(tmp_path: pathlib.Path) -> None:
    for bad in ["", "redis://127.0.0.1:6379"]:
        with pytest.raises(finops.InvalidArgumentError) as e:
            await finops.Vault.open(bad)
        assert e.value.field == "store"
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(finops.FinopsError):
        await finops.Vault.open(str(not_a_dir))


def test_tokens_become_principals_and_refusals_say_why() -> None:
    v = finops.JwtVerifier("HS256", SECRET, issuer="https://idp.example", audience="finops")
    p = v.verify(token({"tenant": "firm-j", "role": "client", "client": "bistro"}))
    assert (p.tenant, p.role, p.client) == ("firm-j", "client", "bistro")
    assert finops.JwtVerifier("HS256", SECRET.encode(), issuer="i", audience="a") is not None

    now = int(time.time())
    for bad, kind in [
        (token({"tenant": "t", "role": "cpa"}, secret="another-secret-of-at-least-32-bytes" * 2), "signature"),
        (token({"tenant": "t", "role": "cpa", "exp": now - 3600}), "expired"),
        (token({"tenant": "t", "role": "cpa", "aud": "someone-else"}), "audience"),
        (token({"tenant": "t", "role": "cpa", "iss": "https://evil.example"}), "issuer"),
        (token({"role": "cpa"}), "missing_claim"),
        (token({"tenant": "t", "role": "owner"}), "invalid_claim"),
        (token({"tenant": "t", "role": "cpa"}, alg="HS512"), "algorithm"),
        ("not.a.token", "malformed"),
    ]:
        with pytest.raises(finops.InvalidTokenError) as refused:
            v.verify(bad)
        assert refused.value.kind == kind, (kind, refused.value)

    for args, field in [
        (("HS256", "short"), "jwt_secret"),
        (("RS256", "not a pem"), "jwt_public_key"),
        (("none", SECRET), "jwt_algorithm"),
    ]:
        with pytest.raises(finops.InvalidArgumentError) as bad_config:
            finops.JwtVerifier(*args, issuer="i", audience="a")
        assert bad_config.value.field == field
    with pytest.raises(finops.InvalidArgumentError) as bad_key:
        finops.JwtVerifier("HS256", 42, issuer="i", audience="a")  # type: ignore[arg-type]
    assert bad_key.value.field == "jwt_key"


async def test_a_finops_with_a_vault_saves_every_analysis(vault_dir: pathlib.Path, bistro_path: pathlib.Path) -> None:
    v = await finops.Vault.open(str(vault_dir))
    fo = finops.Finops(offline=True, vault=v)
    client = finops.Principal("firm-auto", "client", "bistro")
    asked = await fo.analyze(bistro_path, "Analyse la rentabilité", principal=client)
    assert (await v.get(client, asked.id)).report == asked.report
    plain = fo.analyze_sync(bistro_path, "Is our debt too high?", tenant="firm-auto", client="garage")
    streamed = [e async for e in fo.stream(bistro_path, "Liquidité ?", tenant="firm-auto", client="garage")]
    done = streamed[-1].analysis
    assert done is not None
    cpa = finops.Principal("firm-auto", "cpa")
    assert {a.id for a in await v.list(cpa)} == {asked.id, plain.id, done.id}
    with pytest.raises(finops.InvalidArgumentError) as bad:
        finops.Finops(offline=True, vault=42)  # type: ignore[arg-type]
    assert bad.value.field == "vault"
    # A location opens the vault there: a directory (or a postgres:// URL).
    by_path = finops.Finops(offline=True, vault=str(vault_dir))
    again = by_path.analyze_sync(bistro_path, "Is our debt too high?", tenant="firm-auto", client="garage")
    assert (await v.get(cpa, again.id)).id == again.id
