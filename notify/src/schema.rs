diesel::table! {
    notifications (id) {
        id -> BigInt,
        account_id -> BigInt,
        kind -> Text,
        title -> Text,
        body -> Text,
        link -> Text,
        data -> Text,
        is_read -> Bool,
        dedupe_key -> Text,
        revision -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notification_preferences (account_id) {
        account_id -> BigInt,
        muted_kinds -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notification_devices (id) {
        id -> BigInt,
        account_id -> BigInt,
        platform -> Text,
        token -> Text,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(notifications, notification_preferences, notification_devices);
