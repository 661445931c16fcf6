DROP TRIGGER organizations_count_insert ON organizations;
DROP TRIGGER organizations_count_delete ON organizations;
DROP TRIGGER users_count_insert ON users;
DROP TRIGGER users_count_delete ON users;
DROP FUNCTION apply_platform_counts();
DROP TABLE platform_counters;
DROP TRIGGER memberships_counts_insert ON memberships;
DROP TRIGGER memberships_counts_update ON memberships;
DROP TRIGGER memberships_counts_delete ON memberships;
DROP FUNCTION apply_membership_counts();
CREATE FUNCTION maintain_membership_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE organizations SET
            member_count = member_count - 1,
            admin_count = admin_count - (OLD.role IN ('owner', 'admin'))::int,
            subscriber_count = subscriber_count - OLD.subscriber::int
        WHERE id = OLD.org_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE organizations SET
            member_count = member_count + 1,
            admin_count = admin_count + (NEW.role IN ('owner', 'admin'))::int,
            subscriber_count = subscriber_count + NEW.subscriber::int
        WHERE id = NEW.org_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER memberships_counts
    AFTER INSERT OR UPDATE OF org_id, role, subscriber OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION maintain_membership_counts();
DROP TABLE token_assignments;
DROP TABLE token_purchases;
DROP FUNCTION token_rows_are_immutable();
DROP FUNCTION apply_token_totals();
DROP TRIGGER users_keys_to_memberships ON users;
DROP FUNCTION copy_user_keys_to_memberships();
DROP TRIGGER memberships_keys ON memberships;
DROP FUNCTION fill_membership_keys();
ALTER TABLE memberships DROP COLUMN email_key, DROP COLUMN first_name_key, DROP COLUMN last_name_key;
ALTER TABLE users DROP COLUMN email_key, DROP COLUMN first_name_key, DROP COLUMN last_name_key;
ALTER TABLE organizations DROP COLUMN search_text, DROP COLUMN name_key, DROP COLUMN contact_key, DROP COLUMN plan_id,
    DROP COLUMN inference_purchased, DROP COLUMN inference_assigned,
    DROP COLUMN embedding_purchased, DROP COLUMN embedding_assigned;
DROP INDEX organizations_member_count_id, organizations_phone_id,
    organizations_email_id, organizations_domain_id;
DROP TABLE org_oauth_settings;
DROP TABLE org_models;
DROP TABLE models;
DROP TABLE plans;
DROP TABLE platform_settings;
