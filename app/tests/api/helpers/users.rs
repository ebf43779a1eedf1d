//! Accounts to call as: signed up, verified through the emailed link and logged in, like a
//! real client; admins through the service (only the CLI makes them); bare tokens for tests
//! that need many callers fast.

use super::client::{Api, Call, Client};
use super::dto::{Account, Session};
use super::spawn::TestApp;
use contracts::Role;
use platform::testkit::unique_suffix;
use serde_json::json;
use std::ops::Deref;

/// A logged-in account. Calls through it (`buyer.get("/cart")`) carry its access token.
#[derive(Debug, Clone)]
pub struct User {
    pub account: Account,
    pub id: i64,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
    client: Client,
}

impl Deref for User {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl User {
    /// This user calling another instance (`spawn_peer`) with the same token.
    pub fn on(&self, app: &TestApp) -> Client {
        app.with_token(&self.token)
    }
}

impl TestApp {
    pub fn signup(&self, email: &str, password: &str, name: &str, role: &str) -> Call {
        self.post("/auth/signup", &json!({"email": email, "password": password, "name": name, "role": role}))
    }

    pub fn login(&self, email: &str, password: &str) -> Call {
        self.post("/auth/login", &json!({"email": email, "password": password}))
    }

    /// Signs up, verifies through the emailed token and logs in.
    pub async fn user(&self, role: Role) -> User {
        let email = format!("{}-{}@example.com", role.as_str(), unique_suffix().replace('_', "-"));
        let password = "correct horse battery".to_string();
        let res = self.signup(&email, &password, &format!("Test {}", role.as_str()), role.as_str()).await;
        assert_eq!(res.status(), 201, "{}", res.text().await);
        let token = self.email_token(&email).await;
        let res = self.post("/auth/verify-email", &json!({ "token": token })).await;
        assert_eq!(res.status(), 200);
        self.login_user(&email, &password).await
    }

    pub async fn login_user(&self, email: &str, password: &str) -> User {
        let session: Session = self.login(email, password).returns(200).await;
        User {
            id: session.account.id,
            account: session.account,
            email: email.to_string(),
            password: password.to_string(),
            client: self.with_token(&session.access_token),
            token: session.access_token,
            refresh_token: session.refresh_token,
        }
    }

    pub async fn admin(&self) -> User {
        let email = format!("admin-{}@example.com", unique_suffix().replace('_', "-"));
        let password = "admin password 1";
        self.assembled
            .accounts
            .create_admin(
                account::EmailAddress::parse(&email).unwrap(),
                account::Password::parse(password).unwrap(),
                account::DisplayName::parse("Admin").unwrap(),
            )
            .await
            .unwrap();
        self.login_user(&email, password).await
    }

    /// A valid access token for any account id, without signing up (for tests that need
    /// many buyers fast; no module checks that the account exists).
    pub fn token_for(&self, account_id: i64, role: Role) -> String {
        self.assembled.jwt.issue(account_id, role).unwrap().token
    }

    /// A client calling with `token_for(account_id, role)`.
    pub fn client_for(&self, account_id: i64, role: Role) -> Client {
        self.with_token(&self.token_for(account_id, role))
    }
}
