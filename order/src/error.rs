use contracts::wallet::WalletError;
use platform::ApiError;
use platform::db::DbError;
use platform::error::ErrorCode;
use platform::idempotency::{IdempotencyError, WrapsIdempotency};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("not found")]
    NotFound,
    /// A product name the seller already uses, or an item name the product already has.
    #[error("name already used: {0}")]
    NameTaken(String),
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("out of stock: {0}")]
    OutOfStock(String),
    #[error("cart is empty")]
    CartEmpty,
    #[error("cart changed")]
    CartChanged(Vec<String>),
    #[error("insufficient balance")]
    InsufficientBalance,
    /// Setting `stock` below what is reserved.
    #[error("stock below the reserved {0}")]
    StockReserved(i64),
    /// A line whose status does not allow the transition.
    #[error("line {item_id} is {status}")]
    InvalidState { item_id: i64, status: crate::checkout::LineStatus },
    /// Recovery gave up on this checkout while its request still ran.
    #[error("checkout interrupted")]
    CheckoutInterrupted,
    /// The client's key: reused with another body, still running, or claimed concurrently
    /// (also: another checkout of the same cart is still running).
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error(transparent)]
    Wallet(WalletError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

platform::impl_db_error!(OrderError);

impl WrapsIdempotency for OrderError {
    fn idempotency(&self) -> Option<IdempotencyError> {
        match self {
            OrderError::Idempotency(e) => Some(*e),
            _ => None,
        }
    }
}

impl From<WalletError> for OrderError {
    fn from(err: WalletError) -> Self {
        match err {
            WalletError::InsufficientBalance => OrderError::InsufficientBalance,
            WalletError::Cancelled => OrderError::CheckoutInterrupted,
            other => OrderError::Wallet(other),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(err: OrderError) -> Self {
        match err {
            OrderError::NotFound => ApiError::not_found(),
            OrderError::NameTaken(what) => {
                ApiError::new(ErrorCode::NameTaken, format!("The name is already used: {what}."))
            }
            OrderError::Invalid { field, message } => ApiError::invalid_field(field, message),
            OrderError::OutOfStock(item) => {
                ApiError::new(ErrorCode::OutOfStock, format!("Not enough stock for {item}."))
                    .with_details(json!({ "item": item }))
            }
            OrderError::CartEmpty => ApiError::new(ErrorCode::CartEmpty, "The cart is empty."),
            OrderError::CartChanged(messages) => ApiError::new(
                ErrorCode::CartChanged,
                "The cart changed since you last saw it; review it and try again.",
            )
            .with_details(json!({ "messages": messages })),
            OrderError::InsufficientBalance => {
                ApiError::new(ErrorCode::InsufficientBalance, "Your balance is too low for this order.")
            }
            OrderError::StockReserved(reserved) => ApiError::new(
                ErrorCode::StockReserved,
                format!("{reserved} units are reserved by orders; stock cannot go below that."),
            )
            .with_details(json!({ "reserved": reserved })),
            OrderError::InvalidState { item_id, status } => {
                ApiError::new(ErrorCode::InvalidOrderState, format!("Order line {item_id} is {status}."))
                    .with_details(json!({ "item_id": item_id, "status": status }))
            }
            OrderError::CheckoutInterrupted => ApiError::unavailable(anyhow::anyhow!(
                "the checkout was interrupted and undone by recovery; retry with the same key"
            ))
            .with_retry_after(1),
            OrderError::Idempotency(e) => e.into(),
            OrderError::Wallet(WalletError::Service(e)) => e.into(),
            // The wallet's refusals a client can cause (a low balance) became this module's own
            // errors in `From<WalletError>`; the rest are transfers this module keys and sizes
            // itself, so a refusal is a bug here. Each module maps the wallet itself: platform
            // holds no business rules, and contracts (where `WalletError` lives) no HTTP.
            OrderError::Wallet(e) => ApiError::internal(e),
            OrderError::Db(e) => e.into(),
            OrderError::Internal(e) => ApiError::internal(e),
        }
    }
}
