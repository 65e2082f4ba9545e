-- Continuity marks per key (slashing/continuityRules.ts): the highest slot, target and source any
-- instance may have signed, and who holds the latest grant of each kind with its fence counter.
CREATE TABLE continuity_reservations (
  gvr          text   NOT NULL,
  pubkey       text   NOT NULL,
  block_holder text,
  block_fence  bigint NOT NULL DEFAULT 0,
  max_slot     bigint,
  att_holder   text,
  att_fence    bigint NOT NULL DEFAULT 0,
  max_target   bigint,
  max_source   bigint,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (gvr, pubkey)
);

-- The marks only rise and the fences only count up, whatever a buggy or hostile client writes:
-- a lowered mark would hand out a grant overlapping one already given.
CREATE FUNCTION continuity_marks_rise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.max_slot < OLD.max_slot OR NEW.max_target < OLD.max_target OR NEW.max_source < OLD.max_source
     OR (OLD.max_slot IS NOT NULL AND NEW.max_slot IS NULL)
     OR (OLD.max_target IS NOT NULL AND NEW.max_target IS NULL)
     OR (OLD.max_source IS NOT NULL AND NEW.max_source IS NULL)
     OR NEW.block_fence < OLD.block_fence OR NEW.att_fence < OLD.att_fence THEN
    RAISE EXCEPTION 'continuity marks of % may only rise', OLD.pubkey;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER continuity_marks_rise BEFORE UPDATE ON continuity_reservations
  FOR EACH ROW EXECUTE FUNCTION continuity_marks_rise();

-- Deleting a row would forget its marks, the same as lowering them.
CREATE FUNCTION continuity_rows_stay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'continuity marks of % may not be deleted', OLD.pubkey;
END $$;

CREATE TRIGGER continuity_rows_stay BEFORE DELETE ON continuity_reservations
  FOR EACH ROW EXECUTE FUNCTION continuity_rows_stay();
