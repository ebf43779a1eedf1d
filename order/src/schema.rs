diesel::table! {
    products (id) {
        id -> BigInt,
        seller_id -> BigInt,
        name -> Text,
        active_name -> Nullable<Text>,
        description -> Text,
        deleted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        hidden -> Bool,
    }
}

diesel::table! {
    product_items (id) {
        id -> BigInt,
        product_id -> BigInt,
        name -> Text,
        active_name -> Nullable<Text>,
        price -> BigInt,
        stock -> BigInt,
        reserved -> BigInt,
        deleted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    product_search_terms (term, product_id) {
        term -> Text,
        product_id -> BigInt,
    }
}

diesel::table! {
    carts (buyer_id) {
        buyer_id -> BigInt,
        version -> BigInt,
        updated_at -> Timestamp,
        checkout_order_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    cart_lines (buyer_id, item_id) {
        buyer_id -> BigInt,
        item_id -> BigInt,
        product_id -> BigInt,
        quantity -> BigInt,
        unit_price -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    cart_notices (id) {
        id -> BigInt,
        buyer_id -> BigInt,
        message -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    orders (id) {
        id -> BigInt,
        buyer_id -> BigInt,
        client_key -> Nullable<Text>,
        request_hash -> Text,
        status -> Text,
        total -> BigInt,
        failure -> Nullable<Text>,
        recover_after -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        paid_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    order_lines (id) {
        id -> BigInt,
        order_id -> BigInt,
        product_id -> BigInt,
        item_id -> BigInt,
        seller_id -> BigInt,
        product_name -> Text,
        item_name -> Text,
        price -> BigInt,
        quantity -> BigInt,
        status -> Text,
        fee -> BigInt,
        auto_confirm_at -> Nullable<Timestamp>,
        money_due -> Nullable<Text>,
        money_retry_at -> Nullable<Timestamp>,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    order_shipments (order_id, item_id) {
        order_id -> BigInt,
        item_id -> BigInt,
        carrier -> Text,
        tracking_number -> Text,
        shipped_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    products,
    product_items,
    product_search_terms,
    cart_lines,
    carts,
    orders,
    order_lines,
    order_shipments
);
