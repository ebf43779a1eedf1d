diesel::table! {
    moderation_reports (id) {
        id -> BigInt,
        reporter_id -> BigInt,
        target_type -> Text,
        target_id -> BigInt,
        target_owner_id -> BigInt,
        target_preview -> Text,
        reason -> Text,
        details -> Nullable<Text>,
        status -> Text,
        open_key -> Nullable<Text>,
        resolution -> Nullable<Text>,
        resolution_note -> Nullable<Text>,
        resolved_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
    }
}
