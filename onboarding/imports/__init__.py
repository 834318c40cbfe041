"""Bulk import of users, channels and tenants from CSV or JSON Lines.

The contract, in full in ``docs/import-export.md``:

- Every row is checked first, against the file and against the live database
  (set-based: a query per few thousand rows, never one per row). A bad row is
  reported with its line number and every reason; it never stops the others.
- Then all the good rows are written in one transaction with one audit event.
  If the database refuses that write (a concurrent change took an email or a
  slug in between), nothing is written and the import can simply be rerun.
- Upserts on natural keys (a user's email, a tenant's slug, a channel's slug
  in its tenant): an empty value keeps what the database has, so a rerun
  changes nothing and queues nothing for the chat service.
- A dry run does all the checks and writes nothing.

Writes go through the bulk services of the apps that own the tables
(``accounts.bulk``, ``channels_app.bulk``, ``tenants.bulk``): they fire no
model signals, and each sends its app's "changed in bulk" signal instead,
which is how the chat service hears about created and updated rows, and only
about those.

The modules: ``records`` reads files, ``values`` checks one row's values,
``results`` holds what every importer shares (row results, the transaction,
the audit event), and ``users``, ``channels`` and ``tenants`` are the
importers, each a plan (every check, no write) and a write.
"""

from onboarding.imports.channels import channels_import
from onboarding.imports.records import (
    CHANNEL_ROLE_SEPARATOR,
    CHANNEL_SEPARATOR,
    CHANNELS,
    FORMATS,
    TENANTS,
    USERS,
    ImportFileError,
    Record,
    Schema,
    detect_format,
    read_records,
)
from onboarding.imports.results import ImportConflict, ImportResult, RowResult, RowStatus
from onboarding.imports.tenants import tenants_import
from onboarding.imports.users import users_import

__all__ = [
    "CHANNELS",
    "CHANNEL_ROLE_SEPARATOR",
    "CHANNEL_SEPARATOR",
    "FORMATS",
    "TENANTS",
    "USERS",
    "ImportConflict",
    "ImportFileError",
    "ImportResult",
    "Record",
    "RowResult",
    "RowStatus",
    "Schema",
    "channels_import",
    "detect_format",
    "read_records",
    "tenants_import",
    "users_import",
]
