diesel::table! {
    accounts (id) {
        id -> BigInt,
        email -> Text,
        password_hash -> Text,
        name -> Text,
        name_lower -> Text,
        role -> Text,
        phone -> Nullable<Text>,
        email_verified -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    account_tokens (id) {
        id -> BigInt,
        account_id -> BigInt,
        purpose -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        account_id -> BigInt,
        family -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    account_suspensions (account_id) {
        account_id -> BigInt,
        reason -> Text,
        suspended_until -> Nullable<Timestamp>,
        suspended_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}
