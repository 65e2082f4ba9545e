-- Version 1. Beyond the UNIQUE constraints, triggers make the watermarks monotone and undeletable
-- and refuse any non-imported record that is not above them, which also excludes surround votes:
-- a buggy code path cannot write a slashable record.
CREATE TABLE slashing_meta (key text PRIMARY KEY, value text NOT NULL);

CREATE TABLE slashing_watermarks (
  pubkey text NOT NULL,
  gvr text NOT NULL,
  max_slot bigint,
  max_source bigint,
  max_target bigint,
  PRIMARY KEY (pubkey, gvr),
  CHECK ((max_source IS NULL) = (max_target IS NULL))
);

CREATE TABLE signed_blocks (
  pubkey text NOT NULL,
  gvr text NOT NULL,
  slot bigint NOT NULL CHECK (slot >= 0),
  signing_root text,
  imported boolean NOT NULL,
  UNIQUE (pubkey, gvr, slot)
);

CREATE TABLE signed_attestations (
  pubkey text NOT NULL,
  gvr text NOT NULL,
  source_epoch bigint NOT NULL CHECK (source_epoch >= 0),
  target_epoch bigint NOT NULL,
  signing_root text,
  imported boolean NOT NULL,
  CHECK (source_epoch <= target_epoch),
  UNIQUE (pubkey, gvr, target_epoch)
);
CREATE INDEX signed_attestations_by_source ON signed_attestations (pubkey, gvr, source_epoch);

CREATE FUNCTION signed_block_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT NEW.imported AND EXISTS (
    SELECT 1 FROM slashing_watermarks w WHERE w.pubkey = NEW.pubkey AND w.gvr = NEW.gvr AND NEW.slot <= w.max_slot) THEN
    RAISE EXCEPTION 'slashing protection: block not above the slot watermark';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER signed_block_guard BEFORE INSERT ON signed_blocks FOR EACH ROW EXECUTE FUNCTION signed_block_guard();

CREATE FUNCTION signed_block_raises_watermark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO slashing_watermarks AS w (pubkey, gvr, max_slot) VALUES (NEW.pubkey, NEW.gvr, NEW.slot)
  ON CONFLICT (pubkey, gvr) DO UPDATE SET max_slot = GREATEST(w.max_slot, EXCLUDED.max_slot);
  RETURN NULL;
END $$;
CREATE TRIGGER signed_block_raises_watermark AFTER INSERT ON signed_blocks FOR EACH ROW EXECUTE FUNCTION signed_block_raises_watermark();

CREATE FUNCTION signed_attestation_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT NEW.imported AND EXISTS (
    SELECT 1 FROM slashing_watermarks w WHERE w.pubkey = NEW.pubkey AND w.gvr = NEW.gvr
    AND (NEW.source_epoch < w.max_source OR NEW.target_epoch <= w.max_target)) THEN
    RAISE EXCEPTION 'slashing protection: attestation not above the source/target watermarks';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER signed_attestation_guard BEFORE INSERT ON signed_attestations FOR EACH ROW EXECUTE FUNCTION signed_attestation_guard();

CREATE FUNCTION signed_attestation_raises_watermark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO slashing_watermarks AS w (pubkey, gvr, max_source, max_target)
  VALUES (NEW.pubkey, NEW.gvr, NEW.source_epoch, NEW.target_epoch)
  ON CONFLICT (pubkey, gvr) DO UPDATE SET
    max_source = GREATEST(w.max_source, EXCLUDED.max_source),
    max_target = GREATEST(w.max_target, EXCLUDED.max_target);
  RETURN NULL;
END $$;
CREATE TRIGGER signed_attestation_raises_watermark AFTER INSERT ON signed_attestations FOR EACH ROW EXECUTE FUNCTION signed_attestation_raises_watermark();

CREATE FUNCTION slashing_watermarks_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'slashing protection: watermarks are never deleted';
  END IF;
  IF coalesce(NEW.max_slot, -1) < coalesce(OLD.max_slot, -1)
    OR coalesce(NEW.max_source, -1) < coalesce(OLD.max_source, -1)
    OR coalesce(NEW.max_target, -1) < coalesce(OLD.max_target, -1)
    OR NEW.pubkey <> OLD.pubkey OR NEW.gvr <> OLD.gvr THEN
    RAISE EXCEPTION 'slashing protection: watermarks never decrease';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER slashing_watermarks_guard BEFORE UPDATE OR DELETE ON slashing_watermarks FOR EACH ROW EXECUTE FUNCTION slashing_watermarks_guard();
