# The counts of rows by state are kept by the database (see BatchCounts): SQLite with row
# triggers, PostgreSQL with statement triggers over transition tables (one UPDATE per
# statement, not per row: a COPY of 100,000 rows costs one). The state list is written out
# here, not imported, so this migration never changes under a later model.

from django.db import migrations, models
import django.db.models.deletion

STATES = ("invalid", "ready", "sending", "created", "failed", "unsent", "excluded")
ROWS = "appointments_batchrow"
COUNTS = "appointments_batchcounts"
COLUMNS = ", ".join(f"n_{state}" for state in STATES)


def _sqlite(delta_of: str) -> str:
    return ", ".join(f"n_{s} = n_{s} + {delta_of.format(s=s)}" for s in STATES)


SQLITE = [
    f"""CREATE TRIGGER {ROWS}_counts_insert AFTER INSERT ON {ROWS} BEGIN
    INSERT INTO {COUNTS} (batch_id, {COLUMNS})
    VALUES (NEW.batch_id, {", ".join(f"NEW.state = '{s}'" for s in STATES)})
    ON CONFLICT (batch_id) DO UPDATE SET
    {", ".join(f"n_{s} = n_{s} + (NEW.state = '{s}')" for s in STATES)};
END""",
    f"""CREATE TRIGGER {ROWS}_counts_update AFTER UPDATE OF state ON {ROWS}
WHEN OLD.state <> NEW.state BEGIN
    UPDATE {COUNTS} SET {_sqlite("(NEW.state = '{s}') - (OLD.state = '{s}')")}
    WHERE batch_id = NEW.batch_id;
END""",
    f"""CREATE TRIGGER {ROWS}_counts_delete AFTER DELETE ON {ROWS} BEGIN
    UPDATE {COUNTS} SET {_sqlite("0 - (OLD.state = '{s}')")} WHERE batch_id = OLD.batch_id;
END""",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {ROWS}_counts_{op}" for op in ("insert", "update", "delete")]


def _tally(table: str, sign: str) -> str:
    sums = ", ".join(f"{sign}count(*) FILTER (WHERE state = '{s}') AS n_{s}" for s in STATES)
    return f"SELECT batch_id, {sums} FROM {table} GROUP BY batch_id"


POSTGRES = [
    f"""CREATE FUNCTION {ROWS}_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNTS} (batch_id, {COLUMNS}) {_tally("new_rows", "")}
    ON CONFLICT (batch_id) DO UPDATE SET
    {", ".join(f"n_{s} = {COUNTS}.n_{s} + EXCLUDED.n_{s}" for s in STATES)};
    RETURN NULL;
END $$""",
    f"""CREATE FUNCTION {ROWS}_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNTS} AS c SET
    {", ".join(f"n_{s} = c.n_{s} + d.n_{s}" for s in STATES)}
    FROM (
        SELECT batch_id, {", ".join(f"sum(n_{s}) AS n_{s}" for s in STATES)}
        FROM ({_tally("new_rows", "")} UNION ALL {_tally("old_rows", "-")}) AS t
        GROUP BY batch_id
    ) AS d
    WHERE c.batch_id = d.batch_id;
    RETURN NULL;
END $$""",
    f"""CREATE FUNCTION {ROWS}_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNTS} AS c SET {", ".join(f"n_{s} = c.n_{s} - d.n_{s}" for s in STATES)}
    FROM ({_tally("old_rows", "")}) AS d
    WHERE c.batch_id = d.batch_id;
    RETURN NULL;
END $$""",
    f"""CREATE TRIGGER {ROWS}_counts_insert AFTER INSERT ON {ROWS}
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {ROWS}_counts_insert()""",
    f"""CREATE TRIGGER {ROWS}_counts_change AFTER UPDATE ON {ROWS}
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION {ROWS}_counts_change()""",
    f"""CREATE TRIGGER {ROWS}_counts_delete AFTER DELETE ON {ROWS}
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {ROWS}_counts_delete()""",
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS {ROWS}_counts_insert ON {ROWS}",
    f"DROP TRIGGER IF EXISTS {ROWS}_counts_change ON {ROWS}",
    f"DROP TRIGGER IF EXISTS {ROWS}_counts_delete ON {ROWS}",
    f"DROP FUNCTION IF EXISTS {ROWS}_counts_insert()",
    f"DROP FUNCTION IF EXISTS {ROWS}_counts_change()",
    f"DROP FUNCTION IF EXISTS {ROWS}_counts_delete()",
]
BACKFILL = (
    f"INSERT INTO {COUNTS} (batch_id, {COLUMNS}) SELECT batch_id, "
    + ", ".join(f"SUM(CASE WHEN state = '{s}' THEN 1 ELSE 0 END)" for s in STATES)
    + f" FROM {ROWS} GROUP BY batch_id"
)


def install(apps, schema_editor):
    statements = POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE
    for statement in [BACKFILL, *statements]:
        schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in POSTGRES_DROP if vendor == "postgresql" else SQLITE_DROP:
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('appointments', '0009_portal_tokens_unreadable'),
    ]

    operations = [
        migrations.CreateModel(
            name='BatchCounts',
            fields=[
                ('batch', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='row_counts', serialize=False, to='appointments.batch')),
                ('n_invalid', models.IntegerField(default=0)),
                ('n_ready', models.IntegerField(default=0)),
                ('n_sending', models.IntegerField(default=0)),
                ('n_created', models.IntegerField(default=0)),
                ('n_failed', models.IntegerField(default=0)),
                ('n_unsent', models.IntegerField(default=0)),
                ('n_excluded', models.IntegerField(default=0)),
            ],
            options={
                'verbose_name_plural': 'batch counts',
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
