//! The data most tests start from, made through the API like a client would: charged
//! wallets, products, cart lines, checkouts; and the numbers they check afterwards.

use super::client::{Api, Call, Client};
use super::dto::{Charge, Cursor, Entry, ItemIds, Product, Wallet};
use super::spawn::TestApp;
use super::users::User;
use contracts::Role;
use platform::testkit::unique_suffix;
use serde_json::{Value, json};

impl Client {
    /// Charges `amount` points into the wallet (sandbox gateway: credited at once).
    pub async fn charge(&self, amount: i64) -> Charge {
        let key = format!("charge-{}", unique_suffix());
        self.post("/wallet/charges", &json!({ "amount": amount })).idempotency_key(key).returns(201).await
    }

    pub async fn balance(&self) -> i64 {
        self.get("/wallet").send().await.json::<Wallet>().await.balance
    }

    /// The newest 100 ledger entries of the wallet.
    pub async fn entries(&self) -> Vec<Entry> {
        self.get("/wallet/entries?limit=100").returns::<Cursor<Entry>>(200).await.items
    }

    /// Creates a product with `(name, price, stock)` items.
    pub async fn create_product(&self, name: &str, items: &[(&str, i64, i64)]) -> Product {
        let items: Vec<Value> = items.iter().map(|(n, p, s)| json!({"name": n, "price": p, "stock": s})).collect();
        let body = json!({"name": name, "description": format!("About {name}"), "items": items});
        self.post("/seller/products", &body).returns(201).await
    }

    /// Adds `quantity` of the product's item at `item_index` to the cart.
    pub fn add_to_cart(&self, product: &Product, item_index: usize, quantity: i64) -> Call {
        let body = json!({ "product_id": product.id, "item_id": product.item_id(item_index), "quantity": quantity });
        self.post("/cart/items", &body)
    }

    /// `POST /orders` with this idempotency key.
    pub fn checkout(&self, key: &str, body: &Value) -> Call {
        self.post("/orders", body).idempotency_key(key)
    }
}

impl TestApp {
    /// A new user of `role` with `points` charged into their wallet.
    pub async fn funded_user(&self, role: Role, points: i64) -> User {
        let user = self.user(role).await;
        user.charge(points).await;
        user
    }

    /// The catalog's `(stock, reserved, available)` of the product's item at `item_index`.
    pub async fn stock_model(&self, product: &Product, item_index: usize) -> (i64, i64, i64) {
        let current: Product = self.get(&format!("/products/{}", product.id)).returns(200).await;
        let item_id = product.item_id(item_index);
        let item = current.items.iter().find(|i| i.id == item_id).unwrap();
        assert_eq!(item.available, item.stock - item.reserved, "{item:?}");
        (item.stock, item.reserved, item.available)
    }

    /// What buyers can still buy of the product's item at `item_index` (`available`).
    pub async fn stock(&self, product: &Product, item_index: usize) -> i64 {
        self.stock_model(product, item_index).await.2
    }
}

/// Every byte percent-encoded (for query strings with spaces, `%` or Korean).
pub fn percent_encode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// A keyed purchase-kind transfer, for tests that call `WalletService` directly.
pub fn wallet_transfer(
    from: contracts::wallet::WalletRef,
    to: contracts::wallet::WalletRef,
    amount: i64,
    key: &str,
) -> contracts::wallet::TransferRequest {
    contracts::wallet::TransferRequest {
        from,
        to,
        amount,
        kind: contracts::wallet::EntryKind::Purchase,
        reference: "test".into(),
        idempotency_key: key.into(),
    }
}

/// The system wallet charges are paid in from.
pub fn gateway_wallet() -> contracts::wallet::WalletRef {
    contracts::wallet::WalletRef::System("gateway".into())
}
