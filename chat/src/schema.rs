diesel::table! {
    chat_rooms (id) {
        id -> BigInt,
        name -> Nullable<Text>,
        direct_key -> Nullable<Text>,
        created_by -> BigInt,
        last_message_id -> Nullable<BigInt>,
        last_activity_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    chat_members (room_id, account_id) {
        room_id -> BigInt,
        account_id -> BigInt,
        last_read_message_id -> BigInt,
        joined_at -> Timestamp,
    }
}

diesel::table! {
    chat_messages (id) {
        id -> BigInt,
        room_id -> BigInt,
        sender_id -> BigInt,
        body -> Text,
        created_at -> Timestamp,
        hidden -> Bool,
    }
}

diesel::table! {
    chat_blocks (blocker_id, blocked_id) {
        blocker_id -> BigInt,
        blocked_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(chat_rooms, chat_members, chat_messages, chat_blocks);
