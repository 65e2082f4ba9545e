-- Version 2: rows keyed by a small integer, each key's records clustered, because the chain is held
-- once in `meta` (a database serves one chain). A record is then ~50 bytes instead of ~400 (row plus
-- index), and a group commit writes about half as many WAL pages. Existing rows are carried over.
--
-- Beyond the primary keys (no two blocks at one slot, no two votes for one target), triggers make the
-- watermarks monotone and undeletable and refuse any non-imported record that is not above them,
-- which also excludes surround votes on the sign path: a buggy caller cannot insert a slashable
-- record even by skipping rules.ts.
ALTER TABLE watermarks RENAME TO v1_watermarks;
ALTER TABLE signed_blocks RENAME TO v1_signed_blocks;
ALTER TABLE signed_attestations RENAME TO v1_signed_attestations;
DROP TRIGGER IF EXISTS signed_block_above_watermark;
DROP TRIGGER IF EXISTS signed_block_raises_watermark;
DROP TRIGGER IF EXISTS signed_attestation_above_watermark;
DROP TRIGGER IF EXISTS signed_attestation_raises_watermark;
DROP TRIGGER IF EXISTS watermarks_never_decrease;
DROP TRIGGER IF EXISTS watermarks_never_deleted;

CREATE TABLE validators (
  id INTEGER PRIMARY KEY,
  pubkey TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE watermarks (
  validator_id INTEGER PRIMARY KEY REFERENCES validators (id),
  max_slot INTEGER,
  max_source INTEGER,
  max_target INTEGER,
  CHECK ((max_source IS NULL) = (max_target IS NULL))
) STRICT;

CREATE TABLE signed_blocks (
  validator_id INTEGER NOT NULL REFERENCES validators (id),
  slot INTEGER NOT NULL CHECK (slot >= 0),
  signing_root TEXT,
  imported INTEGER NOT NULL CHECK (imported IN (0, 1)),
  PRIMARY KEY (validator_id, slot)
) STRICT, WITHOUT ROWID;

CREATE TABLE signed_attestations (
  validator_id INTEGER NOT NULL REFERENCES validators (id),
  target_epoch INTEGER NOT NULL,
  source_epoch INTEGER NOT NULL CHECK (source_epoch >= 0),
  signing_root TEXT,
  imported INTEGER NOT NULL CHECK (imported IN (0, 1)),
  CHECK (source_epoch <= target_epoch),
  PRIMARY KEY (validator_id, target_epoch)
) STRICT, WITHOUT ROWID;

INSERT INTO validators (pubkey)
  SELECT pubkey FROM v1_watermarks UNION SELECT pubkey FROM v1_signed_blocks UNION SELECT pubkey FROM v1_signed_attestations ORDER BY 1;
INSERT INTO watermarks (validator_id, max_slot, max_source, max_target)
  SELECT v.id, w.max_slot, w.max_source, w.max_target FROM v1_watermarks w JOIN validators v USING (pubkey);
INSERT INTO signed_blocks (validator_id, slot, signing_root, imported)
  SELECT v.id, b.slot, b.signing_root, b.imported FROM v1_signed_blocks b JOIN validators v USING (pubkey);
INSERT INTO signed_attestations (validator_id, target_epoch, source_epoch, signing_root, imported)
  SELECT v.id, a.target_epoch, a.source_epoch, a.signing_root, a.imported FROM v1_signed_attestations a JOIN validators v USING (pubkey);
DROP TABLE v1_watermarks;
DROP TABLE v1_signed_blocks;
DROP TABLE v1_signed_attestations;

CREATE TRIGGER signed_block_above_watermark BEFORE INSERT ON signed_blocks
WHEN NEW.imported = 0 AND NEW.slot <= (SELECT max_slot FROM watermarks WHERE validator_id = NEW.validator_id)
BEGIN SELECT RAISE(ABORT, 'slashing protection: block not above the slot watermark'); END;

CREATE TRIGGER signed_block_raises_watermark AFTER INSERT ON signed_blocks
BEGIN
  INSERT INTO watermarks (validator_id, max_slot) VALUES (NEW.validator_id, NEW.slot)
  ON CONFLICT (validator_id) DO UPDATE SET max_slot = max(coalesce(max_slot, excluded.max_slot), excluded.max_slot);
END;

CREATE TRIGGER signed_attestation_above_watermark BEFORE INSERT ON signed_attestations
WHEN NEW.imported = 0 AND EXISTS (
  SELECT 1 FROM watermarks WHERE validator_id = NEW.validator_id
  AND (NEW.source_epoch < max_source OR NEW.target_epoch <= max_target))
BEGIN SELECT RAISE(ABORT, 'slashing protection: attestation not above the source/target watermarks'); END;

CREATE TRIGGER signed_attestation_raises_watermark AFTER INSERT ON signed_attestations
BEGIN
  INSERT INTO watermarks (validator_id, max_source, max_target) VALUES (NEW.validator_id, NEW.source_epoch, NEW.target_epoch)
  ON CONFLICT (validator_id) DO UPDATE SET
    max_source = max(coalesce(max_source, excluded.max_source), excluded.max_source),
    max_target = max(coalesce(max_target, excluded.max_target), excluded.max_target);
END;

CREATE TRIGGER watermarks_never_decrease BEFORE UPDATE ON watermarks
WHEN coalesce(NEW.max_slot, -1) < coalesce(OLD.max_slot, -1)
  OR coalesce(NEW.max_source, -1) < coalesce(OLD.max_source, -1)
  OR coalesce(NEW.max_target, -1) < coalesce(OLD.max_target, -1)
  OR NEW.validator_id <> OLD.validator_id
BEGIN SELECT RAISE(ABORT, 'slashing protection: watermarks never decrease'); END;

CREATE TRIGGER watermarks_never_deleted BEFORE DELETE ON watermarks
BEGIN SELECT RAISE(ABORT, 'slashing protection: watermarks are never deleted'); END;

CREATE TRIGGER validators_never_changed BEFORE UPDATE ON validators
BEGIN SELECT RAISE(ABORT, 'slashing protection: a validator id is never reassigned'); END;

CREATE TRIGGER validators_never_deleted BEFORE DELETE ON validators
BEGIN SELECT RAISE(ABORT, 'slashing protection: validators are never deleted'); END;
