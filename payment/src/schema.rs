diesel::table! {
    wallets (id) {
        id -> BigInt,
        wallet_key -> Text,
        balance -> BigInt,
        allow_negative -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    transfers (id) {
        id -> BigInt,
        idempotency_key -> Text,
        cancelled -> Bool,
        from_wallet_id -> BigInt,
        to_wallet_id -> BigInt,
        amount -> BigInt,
        kind -> Text,
        reference -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> BigInt,
        wallet_id -> BigInt,
        transfer_id -> BigInt,
        amount -> BigInt,
        balance_after -> BigInt,
        kind -> Text,
        reference -> Text,
        entry_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    charges (id) {
        id -> BigInt,
        account_id -> BigInt,
        client_key -> Text,
        request_hash -> Text,
        amount -> BigInt,
        status -> Text,
        gateway -> Text,
        gateway_order_id -> Text,
        payment_key -> Nullable<Text>,
        balance_after -> Nullable<BigInt>,
        failure_code -> Nullable<Text>,
        failure_message -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
    }
}
