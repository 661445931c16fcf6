DROP TABLE provider_key_rotations;
DROP TABLE provider_keys;
DROP INDEX memberships_seat_holders;
DROP TABLE subscription_changes;
ALTER TABLE organizations
    DROP COLUMN workflows_in_use,
    DROP COLUMN work_items_in_use,
    DROP COLUMN jobs_running,
    DROP COLUMN cancelled_at;
DELETE FROM plans WHERE name IN ('Team', 'Business')
    AND id NOT IN (SELECT plan_id FROM organizations WHERE plan_id IS NOT NULL);
