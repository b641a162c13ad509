-- A product's row version: bumped by every change in the same statement, so
-- it increases in commit order (the row lock serialises writers), unlike
-- `updated_at` (statement start time). The catalog's cache write-through
-- keeps the entry of the highest version (newer wins) and a tombstone over
-- everything, so two racing writers cannot leave the older value cached.
ALTER TABLE products ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
