-- Version 1: every row keyed by the pubkey and chain as text (about 170 bytes per key).
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS watermarks (
  pubkey TEXT NOT NULL,
  gvr TEXT NOT NULL,
  max_slot INTEGER,
  max_source INTEGER,
  max_target INTEGER,
  PRIMARY KEY (pubkey, gvr),
  CHECK ((max_source IS NULL) = (max_target IS NULL))
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS signed_blocks (
  pubkey TEXT NOT NULL,
  gvr TEXT NOT NULL,
  slot INTEGER NOT NULL CHECK (slot >= 0),
  signing_root TEXT,
  imported INTEGER NOT NULL CHECK (imported IN (0, 1)),
  UNIQUE (pubkey, gvr, slot)
) STRICT;

CREATE TABLE IF NOT EXISTS signed_attestations (
  pubkey TEXT NOT NULL,
  gvr TEXT NOT NULL,
  source_epoch INTEGER NOT NULL CHECK (source_epoch >= 0),
  target_epoch INTEGER NOT NULL,
  signing_root TEXT,
  imported INTEGER NOT NULL CHECK (imported IN (0, 1)),
  CHECK (source_epoch <= target_epoch),
  UNIQUE (pubkey, gvr, target_epoch)
) STRICT;
