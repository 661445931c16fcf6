// Diesel table definitions, written to match migrations/. The test
// `database::schema_rs_matches_the_migrations` fails when the two drift apart.

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_user_id -> Nullable<Int8>,
        actor_email -> Text,
        actor_role -> Text,
        action -> Text,
        org_id -> Nullable<Int8>,
        target -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        key -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    memberships (org_id, user_id) {
        org_id -> Int8,
        user_id -> Int8,
        role -> Text,
        subscriber -> Bool,
        subscriber_admin -> Bool,
        joined_at -> Timestamptz,
    }
}

diesel::table! {
    organizations (id) {
        id -> Int8,
        name -> Text,
        contact_name -> Text,
        address -> Text,
        zip -> Text,
        city -> Text,
        country -> Text,
        phone -> Text,
        email -> Text,
        domain -> Nullable<Text>,
        restrict_to_domain -> Bool,
        allow_subdomains -> Bool,
        status -> Text,
        member_count -> Int4,
        admin_count -> Int4,
        subscriber_count -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (key_hash) {
        key_hash -> Bytea,
        user_id -> Nullable<Int8>,
        state -> Jsonb,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        password_hash -> Nullable<Text>,
        platform_role -> Text,
        status -> Text,
        created_at -> Timestamptz,
        last_login_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(memberships -> organizations (org_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    login_failures,
    memberships,
    organizations,
    sessions,
    users,
);
