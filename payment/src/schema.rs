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
        refunded_amount -> BigInt,
    }
}

diesel::table! {
    charge_attention (charge_id) {
        charge_id -> BigInt,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    charge_refunds (id) {
        id -> BigInt,
        charge_id -> BigInt,
        account_id -> BigInt,
        client_key -> Nullable<Text>,
        request_hash -> Text,
        amount -> BigInt,
        status -> Text,
        source -> Text,
        failure_code -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payouts (id) {
        id -> BigInt,
        account_id -> BigInt,
        client_key -> Text,
        request_hash -> Text,
        amount -> BigInt,
        status -> Text,
        gateway -> Text,
        bank_code -> Text,
        account_number_enc -> Text,
        account_number_masked -> Text,
        account_holder -> Text,
        attempts -> Integer,
        failure_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ledger_audit_sums (wallet_id) {
        wallet_id -> BigInt,
        entries_sum -> BigInt,
    }
}

diesel::table! {
    ledger_audit_state (id) {
        id -> BigInt,
        high_water -> BigInt,
        passes -> BigInt,
        checked_at -> Nullable<Timestamp>,
        wallets -> BigInt,
        mismatches -> BigInt,
        sum_of_balances -> BigInt,
    }
}

diesel::table! {
    charge_lookups (charge_id) {
        charge_id -> BigInt,
        checked_at -> Timestamp,
    }
}

diesel::joinable!(charge_lookups -> charges (charge_id));
diesel::allow_tables_to_appear_in_same_query!(charges, charge_attention, charge_lookups);
