"""Backup and restore (P5 of reliability.md): one consistent, encrypted archive of the database and its attachments.

Consistency. An attachment file is stored (and fsynced) before the row that names it commits (sync/attachments.py),
and a stored file is never changed or removed. So `flask backup` (make.py) reads the manifest, the row counts and
checksums and the list of attachments, in one REPEATABLE READ snapshot; pg_dump dumps that same exported snapshot;
and only then are the files those rows name copied, each checked against its SHA-256. Every row in the dump has its
file in the archive; a file stored later, or never named by a committed row, is left out (its phone uploads it again).
`flask restore` (restore.py) keeps the same order: the files go into the store before the rows that name them.

The archive: a tar of manifest.json (manifest.py), database.dump (pg_dump's custom format, pg.py) and
attachments/<sha256>, sealed under BACKUP_KEY (sealed.py). docs/operations.md says how to run both, keep the key,
and recover to a point in time with WAL archiving.
"""
