diesel::table! {
    missions (id) {
        id -> BigInt,
        creator_id -> BigInt,
        streamer_id -> BigInt,
        title -> Text,
        description -> Text,
        status -> Text,
        stake -> BigInt,
        pool -> BigInt,
        contributors -> Integer,
        deadline -> Timestamp,
        client_key -> Nullable<Text>,
        request_hash -> Text,
        recover_after -> Timestamp,
        created_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        settled -> Bool,
    }
}

diesel::table! {
    mission_contributions (id) {
        id -> BigInt,
        mission_id -> BigInt,
        account_id -> BigInt,
        amount -> BigInt,
        status -> Text,
        client_key -> Nullable<Text>,
        request_hash -> Text,
        recover_after -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(missions, mission_contributions, mission_hidden);

diesel::table! {
    mission_hidden (mission_id) {
        mission_id -> BigInt,
        hidden_at -> Timestamp,
    }
}
