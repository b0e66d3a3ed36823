"""A CPA firm's working papers with finops: a client's analysis is stored encrypted, waits for a CPA's sign-off,
and the firm's audit trail is exported and checked by an auditor.

Run from the repository root after `pip install ./finops-py`:
    python examples/python/review.py [DATA_DIR]
(the vault lives in DATA_DIR, default ./finops-data: `finops.db` and its `master.key`).
"""

import asyncio
import pathlib
import sys

import finops

STATEMENTS = pathlib.Path(__file__).resolve().parents[1] / "data" / "bistro-saint-denis.json"


async def main(data_dir: str) -> None:
    vault = await finops.Vault.open(data_dir, require_sign_off=True)
    fo = finops.Finops(offline=True)
    client = finops.Principal("tremblay-cpa", "client", "bistro")
    cpa = finops.Principal("tremblay-cpa", "cpa")
    admin = finops.Principal("tremblay-cpa", "admin")

    # The client asks; the analysis is stored as a draft the client cannot see yet.
    analysis = await fo.analyze(STATEMENTS, "Is the bistro profitable?", principal=client)
    await vault.save(client, analysis)
    try:
        await vault.get(client, analysis.id)
    except finops.AccessDeniedError as e:
        print(f"client: {e.reason}")

    # A CPA of the firm reviews, annotates and signs off; then the client reads it.
    await vault.act(cpa, analysis.id, "annotate", note="Revenue agreed to the general ledger.")
    review = await vault.act(cpa, analysis.id, "sign_off")
    signer = review["signed_off_by"]
    print(f"review: {review['status']} by {signer['role'] if signer else '?'} ({len(review['notes'])} note)")
    seen = await vault.get(client, analysis.id)
    print(f"client sees {seen.id}: {seen.report.splitlines()[0]}")

    # The auditor's copy: JSON Lines, every entry chained to the one before.
    trail = await vault.export_audit(admin)
    entries = finops.verify_audit(trail)
    print("audit:", ", ".join(e["action"] for e in entries[-4:]), f"({len(entries)} entries, chain verified)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "finops-data"))
