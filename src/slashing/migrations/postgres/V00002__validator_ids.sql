-- Version 2: the design of SQLite's version 2. Rows are keyed by a small integer instead of the
-- pubkey and chain as text, because a database serves one chain (held in slashing_meta), and roots
-- are kept as 32 bytes instead of 66 characters. An attestation was ~1 KB with its indexes, each
-- repeating the pubkey and chain; it is now ~100 bytes. Existing rows are carried over, in the one
-- transaction the runner gives every migration: a failure leaves version 1 as it was.
--
-- Beyond the primary keys (no two blocks at one slot, no two votes for one target), triggers make
-- the watermarks monotone and undeletable and refuse any non-imported record that is not above
-- them, which also excludes surround votes on the sign path, and keep a validator's id its own: a
-- buggy code path cannot write a slashable record. There are no foreign keys: ids are never
-- deleted, so the check they would add to every insert could never fail.
ALTER TABLE slashing_watermarks RENAME TO v1_slashing_watermarks;
ALTER TABLE v1_slashing_watermarks RENAME CONSTRAINT slashing_watermarks_pkey TO v1_slashing_watermarks_pkey;
ALTER TABLE signed_blocks RENAME TO v1_signed_blocks;
ALTER TABLE signed_attestations RENAME TO v1_signed_attestations;
DROP INDEX signed_attestations_by_source;

CREATE TABLE slashing_validators (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pubkey text NOT NULL UNIQUE
);

CREATE TABLE slashing_watermarks (
  validator_id integer PRIMARY KEY,
  max_slot bigint,
  max_source bigint,
  max_target bigint,
  CHECK ((max_source IS NULL) = (max_target IS NULL))
);

CREATE TABLE signed_blocks (
  validator_id integer NOT NULL,
  slot bigint NOT NULL CHECK (slot >= 0),
  signing_root bytea CHECK (octet_length(signing_root) = 32),
  imported boolean NOT NULL,
  PRIMARY KEY (validator_id, slot)
);

CREATE TABLE signed_attestations (
  validator_id integer NOT NULL,
  target_epoch bigint NOT NULL,
  source_epoch bigint NOT NULL CHECK (source_epoch >= 0),
  signing_root bytea CHECK (octet_length(signing_root) = 32),
  imported boolean NOT NULL,
  CHECK (source_epoch <= target_epoch),
  PRIMARY KEY (validator_id, target_epoch)
);
CREATE INDEX signed_attestations_by_source ON signed_attestations (validator_id, source_epoch);

-- Before the triggers exist: a signed record at or below its watermark is history, not a new write.
INSERT INTO slashing_validators (pubkey)
  SELECT pubkey FROM v1_slashing_watermarks UNION SELECT pubkey FROM v1_signed_blocks UNION SELECT pubkey FROM v1_signed_attestations ORDER BY 1;
INSERT INTO slashing_watermarks (validator_id, max_slot, max_source, max_target)
  SELECT v.id, w.max_slot, w.max_source, w.max_target FROM v1_slashing_watermarks w JOIN slashing_validators v USING (pubkey);
INSERT INTO signed_blocks (validator_id, slot, signing_root, imported)
  SELECT v.id, b.slot, decode(substr(b.signing_root, 3), 'hex'), b.imported FROM v1_signed_blocks b JOIN slashing_validators v USING (pubkey);
INSERT INTO signed_attestations (validator_id, target_epoch, source_epoch, signing_root, imported)
  SELECT v.id, a.target_epoch, a.source_epoch, decode(substr(a.signing_root, 3), 'hex'), a.imported
  FROM v1_signed_attestations a JOIN slashing_validators v USING (pubkey);
-- Their triggers go with them.
DROP TABLE v1_slashing_watermarks, v1_signed_blocks, v1_signed_attestations;

CREATE OR REPLACE FUNCTION signed_block_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT NEW.imported AND EXISTS (
    SELECT 1 FROM slashing_watermarks w WHERE w.validator_id = NEW.validator_id AND NEW.slot <= w.max_slot) THEN
    RAISE EXCEPTION 'slashing protection: block not above the slot watermark';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER signed_block_guard BEFORE INSERT ON signed_blocks FOR EACH ROW EXECUTE FUNCTION signed_block_guard();

CREATE OR REPLACE FUNCTION signed_block_raises_watermark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO slashing_watermarks AS w (validator_id, max_slot) VALUES (NEW.validator_id, NEW.slot)
  ON CONFLICT (validator_id) DO UPDATE SET max_slot = GREATEST(w.max_slot, EXCLUDED.max_slot);
  RETURN NULL;
END $$;
CREATE TRIGGER signed_block_raises_watermark AFTER INSERT ON signed_blocks FOR EACH ROW EXECUTE FUNCTION signed_block_raises_watermark();

CREATE OR REPLACE FUNCTION signed_attestation_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT NEW.imported AND EXISTS (
    SELECT 1 FROM slashing_watermarks w WHERE w.validator_id = NEW.validator_id
    AND (NEW.source_epoch < w.max_source OR NEW.target_epoch <= w.max_target)) THEN
    RAISE EXCEPTION 'slashing protection: attestation not above the source/target watermarks';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER signed_attestation_guard BEFORE INSERT ON signed_attestations FOR EACH ROW EXECUTE FUNCTION signed_attestation_guard();

CREATE OR REPLACE FUNCTION signed_attestation_raises_watermark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO slashing_watermarks AS w (validator_id, max_source, max_target)
  VALUES (NEW.validator_id, NEW.source_epoch, NEW.target_epoch)
  ON CONFLICT (validator_id) DO UPDATE SET
    max_source = GREATEST(w.max_source, EXCLUDED.max_source),
    max_target = GREATEST(w.max_target, EXCLUDED.max_target);
  RETURN NULL;
END $$;
CREATE TRIGGER signed_attestation_raises_watermark AFTER INSERT ON signed_attestations FOR EACH ROW EXECUTE FUNCTION signed_attestation_raises_watermark();

CREATE OR REPLACE FUNCTION slashing_watermarks_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'slashing protection: watermarks are never deleted';
  END IF;
  IF coalesce(NEW.max_slot, -1) < coalesce(OLD.max_slot, -1)
    OR coalesce(NEW.max_source, -1) < coalesce(OLD.max_source, -1)
    OR coalesce(NEW.max_target, -1) < coalesce(OLD.max_target, -1)
    OR NEW.validator_id <> OLD.validator_id THEN
    RAISE EXCEPTION 'slashing protection: watermarks never decrease';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER slashing_watermarks_guard BEFORE UPDATE OR DELETE ON slashing_watermarks FOR EACH ROW EXECUTE FUNCTION slashing_watermarks_guard();

-- Records are keyed by the id: giving a key's id to another key would hand it the first one's history.
CREATE FUNCTION slashing_validators_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'slashing protection: a validator id is never reassigned or deleted';
END $$;
CREATE TRIGGER slashing_validators_guard BEFORE UPDATE OR DELETE ON slashing_validators FOR EACH ROW EXECUTE FUNCTION slashing_validators_guard();
