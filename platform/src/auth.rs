//! Access tokens (JWT, HS256) and the extractors that check them. Tokens are issued by the
//! account module; every module verifies them here without calling it.

use crate::clock::SharedClock;
use crate::config::AuthSettings;
use crate::error::{ApiError, ErrorCode};
use crate::suspension::Suspensions;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest};
use contracts::Role;
use futures::future::{Ready, ready};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The account id, as a string per RFC 7519.
    pub sub: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub jti: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Expired => ApiError::new(ErrorCode::TokenExpired, "The access token has expired."),
            TokenError::Invalid => ApiError::unauthenticated("The access token is not valid."),
        }
    }
}

struct JwtInner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    access_ttl_secs: i64,
    clock: SharedClock,
}

/// Issues and verifies access tokens. Cheap to clone.
#[derive(Clone)]
pub struct Jwt(Arc<JwtInner>);

/// A freshly issued access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in: i64,
}

impl Jwt {
    pub fn new(settings: &AuthSettings, clock: SharedClock) -> Self {
        let secret = settings.jwt_secret.expose().as_bytes();
        // Only HS256 is accepted: `alg: none` and algorithm-confusion tokens fail here.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // Expiry is checked against our injectable clock below, not the system clock.
        validation.validate_exp = false;
        validation.validate_aud = false;
        Jwt(Arc::new(JwtInner {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: settings.issuer.clone(),
            access_ttl_secs: settings.access_ttl_secs,
            clock,
        }))
    }

    pub fn issue(&self, account_id: i64, role: Role) -> Result<IssuedToken, ApiError> {
        let now = self.0.clock.now().timestamp();
        let claims = Claims {
            sub: account_id.to_string(),
            role,
            iat: now,
            exp: now + self.0.access_ttl_secs,
            iss: self.0.issuer.clone(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.0.encoding).map_err(ApiError::internal)?;
        Ok(IssuedToken { token, expires_in: self.0.access_ttl_secs })
    }

    pub fn verify(&self, token: &str) -> Result<AuthUser, TokenError> {
        let data = decode::<Claims>(token, &self.0.decoding, &self.0.validation).map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if claims.exp <= self.0.clock.now().timestamp() {
            return Err(TokenError::Expired);
        }
        let account_id = claims.sub.parse::<i64>().map_err(|_| TokenError::Invalid)?;
        Ok(AuthUser { account_id, role: claims.role, expires_at: claims.exp })
    }

    pub fn access_ttl_secs(&self) -> i64 {
        self.0.access_ttl_secs
    }
}

/// The caller of a route any signed-in account may use (role-gated routes take
/// [`Authorized`]). Missing or bad token: 401. First in the handler's parameters, as
/// [`Authorized`], so a caller without a token is refused before the body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub account_id: i64,
    pub role: Role,
    /// Unix seconds; WebSockets close when it passes.
    pub expires_at: i64,
}

impl AuthUser {
    /// The caller's account id, typed for service calls.
    pub fn account(&self) -> contracts::AccountId {
        contracts::AccountId::from(self.account_id)
    }
}

fn bearer(req: &HttpRequest) -> Option<Result<&str, ApiError>> {
    let value = req.headers().get(AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthenticated("Expected `Authorization: Bearer <token>`.")),
    )
}

fn authenticate(req: &HttpRequest, token: &str) -> Result<AuthUser, ApiError> {
    let jwt = req.app_data::<Jwt>().ok_or_else(|| ApiError::internal(anyhow::anyhow!("Jwt not registered")))?;
    let user = jwt.verify(token)?;
    tracing::Span::current().record("account_id", user.account_id);
    refuse_suspended(req, &user)?;
    Ok(user)
}

/// 403 `account_suspended` when the caller's account is on the in-memory suspension list
/// (registered as app data by `app`; without it nobody is suspended).
pub fn refuse_suspended(req: &HttpRequest, user: &AuthUser) -> Result<(), ApiError> {
    match req.app_data::<Suspensions>() {
        Some(list) if list.is_suspended(user.account_id) => Err(suspended_error()),
        _ => Ok(()),
    }
}

pub fn suspended_error() -> ApiError {
    ApiError::new(ErrorCode::AccountSuspended, "This account is suspended.")
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match bearer(req) {
            None => Err(ApiError::unauthenticated("Authentication required.")),
            Some(token) => token.and_then(|t| authenticate(req, t)),
        })
    }
}

/// A set of roles a route admits; the marker types below name the sets routes use.
pub trait Roles {
    const ROLES: &'static [Role];
}

macro_rules! role_sets {
    ($($(#[$doc:meta])* $marker:ident = [$($role:ident),+] as $alias:ident;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $marker;
        impl Roles for $marker {
            const ROLES: &'static [Role] = &[$(Role::$role),+];
        }
        $(#[$doc])*
        pub type $alias = Authorized<$marker>;
    )+};
}

role_sets! {
    /// Customers only.
    CustomerRole = [Customer] as AsCustomer;
    /// Sellers only.
    SellerRole = [Seller] as AsSeller;
    /// Streamers only.
    StreamerRole = [Streamer] as AsStreamer;
    /// Admins only.
    AdminRole = [Admin] as AsAdmin;
    /// Accounts that earn (and cash out) points: sellers and streamers.
    EarnerRole = [Seller, Streamer] as AsSellerOrStreamer;
}

/// The caller of a role-gated route: authenticated (401), not suspended (403
/// `account_suspended`) and of one of `R`'s roles (403 `forbidden`). Put it FIRST in the
/// handler's parameters: actix polls extractors in order, so the caller is refused before a
/// `Json<T>` body is read, and a wrong role never learns the body's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorized<R> {
    pub user: AuthUser,
    role: PhantomData<R>,
}

impl<R> std::ops::Deref for Authorized<R> {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.user
    }
}

impl<R: Roles> FromRequest for Authorized<R> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(AuthUser::from_request(req, payload).into_inner().and_then(|user| {
            if R::ROLES.contains(&user.role) {
                Ok(Authorized { user, role: PhantomData })
            } else {
                Err(ApiError::forbidden())
            }
        }))
    }
}

/// The caller of a route where a token is optional: none → anonymous; a bad one is still 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl FromRequest for MaybeAuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match bearer(req) {
            None => Ok(MaybeAuthUser(None)),
            Some(token) => token.and_then(|t| authenticate(req, t)).map(|u| MaybeAuthUser(Some(u))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OffsetClock;
    use crate::config::{LoadOptions, Settings};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn jwt() -> (Jwt, Arc<OffsetClock>) {
        let settings = Settings::load(LoadOptions::default()).unwrap();
        let clock = OffsetClock::new();
        (Jwt::new(&settings.auth, clock.clone()), clock)
    }

    #[test]
    fn issued_tokens_verify() {
        let (jwt, _) = jwt();
        let token = jwt.issue(42, Role::Seller).unwrap().token;
        let user = jwt.verify(&token).unwrap();
        assert_eq!((user.account_id, user.role), (42, Role::Seller));
    }

    #[test]
    fn expired_tokens_are_refused_as_expired() {
        let (jwt, clock) = jwt();
        let token = jwt.issue(1, Role::Customer).unwrap().token;
        clock.advance(chrono::Duration::seconds(jwt.access_ttl_secs() + 1));
        assert_eq!(jwt.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let (jwt, _) = jwt();
        let token = jwt.issue(1, Role::Customer).unwrap().token;
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["role"] = "admin".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        assert_eq!(jwt.verify(&parts.join(".")), Err(TokenError::Invalid));
    }

    #[test]
    fn alg_none_is_refused() {
        let (jwt, _) = jwt();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"sub":"1","role":"admin","iat":0,"exp":i64::MAX/2,"iss":"commerce-app","jti":"x"})
                .to_string(),
        );
        assert_eq!(jwt.verify(&format!("{header}.{claims}.")), Err(TokenError::Invalid));
    }

    #[test]
    fn tokens_signed_with_another_secret_are_refused() {
        let (jwt, _) = jwt();
        let other =
            Settings::load(LoadOptions::default().with("auth.jwt_secret", "another-secret-of-enough-length")).unwrap();
        let foreign = Jwt::new(&other.auth, OffsetClock::new()).issue(1, Role::Admin).unwrap().token;
        assert_eq!(jwt.verify(&foreign), Err(TokenError::Invalid));
    }
}
