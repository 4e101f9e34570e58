"""A batch of fee events takes its patients' locks and reads where its fees stand and its patients' checkpoints
in one round trip, through a function (`protection.store.lock_and_read_before`).

One statement could not do both: in READ COMMITTED a statement reads the snapshot taken when it began, so a
read in the statement that waited for a lock would not see what the lock's holder committed meanwhile. In a
VOLATILE PL/pgSQL function each statement takes a snapshot of its own, so the read after the locks sees it.

Revision ID: 0010
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LOCK_AND_READ_BEFORE = "lock_patients_and_read_before_recording"
"""The name `protection.store` calls it by."""


def upgrade() -> None:
    # The locks in the order of their keys, as `protection.store.lock_patients` takes them, so that two
    # batches sharing patients never wait for each other both ways. The fee's position and the checkpoint
    # share their first columns; `checkpoint` tells them apart, and only a checkpoint has a card.
    op.execute(
        f"CREATE OR REPLACE FUNCTION {LOCK_AND_READ_BEFORE}(fee_ids uuid[], patient_keys text[]) "
        "RETURNS TABLE (checkpoint boolean, patient_key text, visit_date date, registered_at timestamptz, "
        "fee_id uuid, card_period_start date, card_valid_from date, card_valid_to date, card_ceiling integer) "
        "LANGUAGE plpgsql VOLATILE AS $read$\n"
        "#variable_conflict use_column\n"
        "DECLARE\n"
        "  key text;\n"
        "BEGIN\n"
        "  FOR key IN SELECT k FROM unnest(patient_keys) AS k ORDER BY k LOOP\n"
        "    PERFORM pg_advisory_xact_lock(hashtext(key));\n"
        "  END LOOP;\n"
        "  RETURN QUERY\n"
        "    SELECT false, f.patient_key, f.visit_date, f.registered_at, f.fee_id,\n"
        "           NULL::date, NULL::date, NULL::date, NULL::integer\n"
        "    FROM fees AS f WHERE f.fee_id = ANY(fee_ids)\n"
        "    UNION ALL\n"
        "    SELECT true, c.patient_key, c.visit_date, c.registered_at, c.fee_id,\n"
        "           c.card_period_start, c.card_valid_from, c.card_valid_to, c.card_ceiling\n"
        "    FROM ledger_checkpoints AS c WHERE c.patient_key = ANY(patient_keys);\n"
        "END\n"
        "$read$"
    )
    # Nothing but the service's own role has any business taking its patients' locks.
    op.execute(f"REVOKE EXECUTE ON FUNCTION {LOCK_AND_READ_BEFORE}(uuid[], text[]) FROM PUBLIC")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {LOCK_AND_READ_BEFORE}(uuid[], text[])")
