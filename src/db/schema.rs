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
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_verifications (id) {
        id -> Int8,
        org_id -> Nullable<Int8>,
        started_by -> Nullable<Int8>,
        started_at -> Timestamptz,
        total -> Int8,
        checked -> Int8,
        beat_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        failed -> Bool,
        problem -> Nullable<Text>,
        problem_entry -> Nullable<Int8>,
    }
}

diesel::table! {
    audit_chain (entry_id) {
        entry_id -> Int8,
        chain -> Int8,
        position -> Int8,
        prev_hash -> Bytea,
        hash -> Bytea,
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
        email_key -> Text,
        first_name_key -> Text,
        last_name_key -> Text,
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
        plan_id -> Nullable<Int8>,
        inference_purchased -> Int8,
        inference_assigned -> Int8,
        embedding_purchased -> Int8,
        embedding_assigned -> Int8,
        search_text -> Nullable<Text>,
        name_key -> Nullable<Text>,
        contact_key -> Nullable<Text>,
        workflows_in_use -> Int4,
        work_items_in_use -> Int4,
        jobs_running -> Int4,
        cancelled_at -> Nullable<Timestamptz>,
        inference_used -> Int8,
        embedding_used -> Int8,
        alert_thresholds -> Array<Int2>,
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
        // Generated from NOT NULL columns, so never null.
        email_key -> Text,
        first_name_key -> Text,
        last_name_key -> Text,
        service_of -> Nullable<Int8>,
    }
}

diesel::table! {
    models (id) {
        id -> Int8,
        provider -> Text,
        name -> Text,
        kind -> Text,
    }
}

diesel::table! {
    org_models (org_id, model_id) {
        org_id -> Int8,
        model_id -> Int8,
    }
}

diesel::table! {
    org_oauth_settings (org_id) {
        org_id -> Int8,
        issuer_url -> Text,
        client_id -> Text,
        client_secret_sealed -> Bytea,
        updated_at -> Timestamptz,
        sso_required -> Bool,
    }
}

diesel::table! {
    plans (id) {
        id -> Int8,
        name -> Text,
        monthly_price_cents -> Int8,
        included_seats -> Int4,
        extra_seat_price_cents -> Int8,
        workflow_limit -> Int4,
        work_item_capacity -> Int4,
        concurrent_job_limit -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    platform_counters (id) {
        id -> Bool,
        organizations -> Int8,
        users -> Int8,
    }
}

diesel::table! {
    platform_settings (id) {
        id -> Bool,
        single_org_per_account -> Bool,
        oauth_login_enabled -> Bool,
        invitation_ttl_days -> Int4,
    }
}

diesel::table! {
    token_assignments (id) {
        id -> Int8,
        org_id -> Int8,
        kind -> Text,
        tokens -> Int8,
        user_id -> Nullable<Int8>,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        team_id -> Nullable<Int8>,
    }
}

diesel::table! {
    token_purchases (id) {
        id -> Int8,
        org_id -> Int8,
        kind -> Text,
        tokens -> Int8,
        amount_cents -> Int8,
        currency -> Text,
        purchased_on -> Date,
        reference -> Text,
        source -> Text,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(memberships -> organizations (org_id));
diesel::joinable!(org_models -> models (model_id));
diesel::joinable!(org_models -> organizations (org_id));
diesel::joinable!(org_oauth_settings -> organizations (org_id));
diesel::joinable!(organizations -> plans (plan_id));
diesel::joinable!(token_purchases -> organizations (org_id));
diesel::joinable!(token_assignments -> organizations (org_id));
diesel::joinable!(token_assignments -> users (user_id));
diesel::joinable!(token_assignments -> teams (team_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::table! {
    used_form_tokens (token_hash) {
        token_hash -> Bytea,
        used_at -> Timestamptz,
    }
}

diesel::table! {
    teams (id) {
        id -> Int8,
        org_id -> Int8,
        name -> Text,
        status -> Text,
        created_at -> Timestamptz,
        description -> Text,
        colour -> Int2,
        member_count -> Int4,
        deactivated_at -> Nullable<Timestamptz>,
        name_key -> Text,
        inference_used -> Int8,
        embedding_used -> Int8,
    }
}

diesel::table! {
    team_members (team_id, user_id) {
        team_id -> Int8,
        org_id -> Int8,
        user_id -> Int8,
        role -> Text,
        joined_at -> Timestamptz,
        role_rank -> Int2,
        email_key -> Text,
        first_name_key -> Text,
        last_name_key -> Text,
    }
}

diesel::table! {
    invitations (id) {
        id -> Int8,
        org_id -> Int8,
        email -> Text,
        role -> Text,
        status -> Text,
        token_hash -> Bytea,
        invited_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        last_sent_at -> Nullable<Timestamptz>,
        expires_at -> Timestamptz,
        send_count -> Int4,
        send_failure -> Nullable<Text>,
        accepted_by -> Nullable<Int8>,
        accepted_at -> Nullable<Timestamptz>,
        // Generated from `status`, so never null.
        pending -> Bool,
    }
}

diesel::table! {
    invitation_teams (invitation_id, team_id) {
        invitation_id -> Int8,
        team_id -> Int8,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        invitation_id -> Nullable<Int8>,
        recipient -> Text,
        message_sealed -> Nullable<Bytea>,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    subscription_changes (id) {
        id -> Int8,
        org_id -> Int8,
        effective_at -> Timestamptz,
        reason -> Text,
        plan_name -> Text,
        monthly_price_cents -> Int8,
        included_seats -> Int4,
        extra_seat_price_cents -> Int8,
        seats -> Int4,
        active -> Bool,
    }
}

diesel::table! {
    provider_keys (id) {
        id -> Int8,
        org_id -> Int8,
        provider -> Text,
        label -> Text,
        secret_sealed -> Bytea,
        last_four -> Text,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    provider_key_rotations (id) {
        id -> Int8,
        key_id -> Int8,
        rotated_by -> Nullable<Int8>,
        rotated_at -> Timestamptz,
        last_four -> Text,
    }
}

diesel::table! {
    api_endpoints (name) {
        name -> Text,
        label -> Text,
        position -> Int4,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Int8,
        org_id -> Nullable<Int8>,
        user_id -> Int8,
        name -> Text,
        prefix -> Text,
        secret_hash -> Bytea,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
        rotated_from -> Nullable<Int8>,
        expiry_warned_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        last_ip -> Nullable<Text>,
        last_endpoint -> Nullable<Text>,
        last_model -> Nullable<Text>,
    }
}

diesel::table! {
    ip_allow_entries (id) {
        id -> Int8,
        org_id -> Int8,
        network -> Text,
        label -> Text,
        endpoint -> Nullable<Text>,
        report_only -> Bool,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    endpoint_restrictions (id) {
        id -> Int8,
        org_id -> Int8,
        user_id -> Nullable<Int8>,
        report_only -> Bool,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    endpoint_restriction_allows (restriction_id, endpoint) {
        restriction_id -> Int8,
        endpoint -> Text,
    }
}

diesel::table! {
    policy_reports (key_id, rule) {
        key_id -> Int8,
        rule -> Text,
        would_deny -> Int8,
        last_at -> Timestamptz,
    }
}

diesel::table! {
    key_denials (id) {
        id -> Int8,
        key_id -> Int8,
        at -> Timestamptz,
        reason -> Text,
        trace -> Jsonb,
    }
}

diesel::table! {
    usage_records (id) {
        id -> Int8,
        key_id -> Int8,
        idempotency_key -> Text,
        org_id -> Nullable<Int8>,
        user_id -> Int8,
        endpoint -> Text,
        model -> Text,
        input_tokens -> Int8,
        output_tokens -> Int8,
        at -> Timestamptz,
        team_id -> Nullable<Int8>,
    }
}

diesel::table! {
    usage_daily (key_id, day, endpoint, model) {
        key_id -> Int8,
        day -> Date,
        endpoint -> Text,
        model -> Text,
        org_id -> Nullable<Int8>,
        user_id -> Int8,
        requests -> Int8,
        input_tokens -> Int8,
        output_tokens -> Int8,
    }
}

diesel::table! {
    usage_alerts_sent (org_id, limit_name, threshold, period) {
        org_id -> Int8,
        limit_name -> Text,
        threshold -> Int2,
        period -> Date,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    usage_org_daily (org_id, day, endpoint, model) {
        org_id -> Int8,
        day -> Date,
        endpoint -> Text,
        model -> Text,
        requests -> Int8,
        input_tokens -> Int8,
        output_tokens -> Int8,
    }
}

diesel::table! {
    usage_member_daily (org_id, day, user_id) {
        org_id -> Int8,
        day -> Date,
        user_id -> Int8,
        requests -> Int8,
        input_tokens -> Int8,
        output_tokens -> Int8,
    }
}

diesel::table! {
    password_resets (id) {
        id -> Int8,
        user_id -> Int8,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    usage_member_monthly (org_id, month, user_id) {
        org_id -> Int8,
        month -> Date,
        user_id -> Int8,
        requests -> Int8,
        input_tokens -> Int8,
        output_tokens -> Int8,
    }
}

diesel::joinable!(endpoint_restriction_allows -> endpoint_restrictions (restriction_id));
diesel::joinable!(key_denials -> api_keys (key_id));
diesel::joinable!(policy_reports -> api_keys (key_id));
diesel::joinable!(usage_daily -> api_keys (key_id));

diesel::joinable!(subscription_changes -> organizations (org_id));
diesel::joinable!(provider_keys -> organizations (org_id));
diesel::joinable!(provider_key_rotations -> provider_keys (key_id));
diesel::joinable!(teams -> organizations (org_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(invitations -> organizations (org_id));
diesel::joinable!(invitation_teams -> invitations (invitation_id));
diesel::joinable!(invitation_teams -> teams (team_id));
diesel::joinable!(outbox -> invitations (invitation_id));

diesel::joinable!(password_resets -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_endpoints,
    api_keys,
    audit_chain,
    audit_log,
    audit_verifications,
    endpoint_restriction_allows,
    endpoint_restrictions,
    ip_allow_entries,
    key_denials,
    policy_reports,
    usage_alerts_sent,
    usage_daily,
    usage_member_daily,
    usage_member_monthly,
    usage_org_daily,
    password_resets,
    usage_records,
    invitation_teams,
    invitations,
    login_failures,
    memberships,
    models,
    org_models,
    org_oauth_settings,
    organizations,
    outbox,
    plans,
    platform_counters,
    platform_settings,
    provider_key_rotations,
    provider_keys,
    sessions,
    subscription_changes,
    team_members,
    teams,
    token_assignments,
    token_purchases,
    used_form_tokens,
    users,
);
