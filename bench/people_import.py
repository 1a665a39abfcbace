"""Benchmark: the people CSV import (all-or-nothing upsert) against a bare bulk insert.

The import parses every row, checks it against the whole file and the tenant's
directory (duplicates, identities owned by someone else, managers), then writes
people and their identities. The baseline, in the same run and database, writes the
same people and identity rows with a plain bulk INSERT and no checks: the floor for
these rows. A re-import of the same file (every row unchanged) is measured too.

    python bench/people_import.py                      # 10,000 rows, SQLite in a temp dir
    python bench/people_import.py --rows 50000
    python bench/people_import.py --quick              # 500 rows, a smoke run
    python bench/people_import.py --database postgresql+psycopg://postgres@127.0.0.1:5432/DB

The database given is emptied (every Pathwise table dropped and created).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lti_tool.infra.db import make_engine, utcnow  # noqa: E402
from lti_tool.infra.directory import email_identities  # noqa: E402
from lti_tool.infra.directory_import import import_people_csv  # noqa: E402
from lti_tool.infra.models import (  # noqa: E402
    Deployment,
    Person,
    PersonIdentity,
    Registration,
)
from lti_tool.schema import full_metadata  # noqa: E402

HEADER = "external_id,name,email,lms_sub,department,manager,job_role,accounts\n"


def csv_text(rows: int, prefix: str) -> str:
    lines = [
        f"{prefix}{i},Person {i},{prefix.lower()}{i}@acme.example,,Dept {i % 40},"
        f"{prefix + '0' if i else ''},Role {i % 7},https://git.acme.example|{prefix}{i}\n"
        for i in range(rows)
    ]
    return HEADER + "".join(lines)


def make_tenant(session: Session, key: str) -> int:
    registration = Registration(
        issuer=f"https://{key}.example",
        client_id=key,
        auth_login_url=f"https://{key}.example/auth",
        auth_token_url=f"https://{key}.example/token",
    )
    session.add(registration)
    session.flush()
    tenant = Deployment(registration_id=registration.id, deployment_id=key)
    session.add(tenant)
    session.flush()
    return tenant.id


def bulk_baseline(session: Session, tenant_id: int, rows: int) -> None:
    """The same people and identities, inserted without any check."""
    now = utcnow()
    people = [
        {
            "tenant_id": tenant_id,
            "external_id": f"B{i}",
            "name": f"Person {i}",
            "email": f"b{i}@acme.example",
            "department": f"Dept {i % 40}",
            "job_role": f"Role {i % 7}",
            "source": "import",
            "created_at": now,
        }
        for i in range(rows)
    ]
    ids = session.scalars(insert(Person).returning(Person.id), people).all()
    identities = []
    for i, person_id in enumerate(ids):
        pairs = [*email_identities(f"b{i}@acme.example")]
        pairs.append(("account", f"https://git.acme.example|B{i}"))
        identities.extend(
            {
                "tenant_id": tenant_id,
                "person_id": person_id,
                "kind": kind,
                "value": value,
                "created_at": now,
            }
            for kind, value in pairs
        )
    for start in range(0, len(identities), 1000):
        session.execute(insert(PersonIdentity), identities[start : start + 1000])
    session.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--quick", action="store_true", help="500 rows (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.rows = 500
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        engine = make_engine(url)
        full_metadata().drop_all(engine)
        full_metadata().create_all(engine)
        text = csv_text(args.rows, "E")
        with Session(engine) as session:
            ours, base = make_tenant(session, "ours"), make_tenant(session, "base")
            session.commit()

            started = time.perf_counter()
            bulk_baseline(session, base, args.rows)
            session.commit()
            baseline_s = time.perf_counter() - started

            started = time.perf_counter()
            report = import_people_csv(session, tenant_id=ours, text=text)
            session.commit()
            import_s = time.perf_counter() - started
            if not report.ok or report.created != args.rows:
                raise SystemExit(f"import failed: {report.errors[:3]}")

            started = time.perf_counter()
            again = import_people_csv(session, tenant_id=ours, text=text)
            session.commit()
            reimport_s = time.perf_counter() - started
            if again.unchanged != args.rows:
                raise SystemExit("re-import changed rows")
        engine.dispose()
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    print(f"people_import_database: {dialect}")  # noqa: T201
    print(f"people_import_rows: {args.rows} rows")  # noqa: T201
    print(f"people_import_rows_per_s: {args.rows / import_s:.0f} rows/s")  # noqa: T201
    print(f"people_reimport_rows_per_s: {args.rows / reimport_s:.0f} rows/s")  # noqa: T201
    print(  # noqa: T201
        f"people_bulk_insert_baseline_rows_per_s: {args.rows / baseline_s:.0f} rows/s"
    )
    print(f"people_import_to_baseline_ratio: {baseline_s / import_s:.2f}")  # noqa: T201


if __name__ == "__main__":
    main()
