//! `GET /chat/ws`: authenticated at upgrade (Authorization header or `?access_token=`),
//! pushes `message` frames for every room of the user, accepts `send` frames answered with
//! `ack` or `error`, pings every 20 s and drops sockets silent for 60 s, closes when the
//! access token expires, and closes with 1009 on frames over 64 KiB.

use crate::service::Chat;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError, Session};
use platform::ApiError;
use platform::auth::{AuthUser, Jwt};
use platform::error::ErrorCode;
use platform::suspension::Suspensions;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest frame (and aggregated message) accepted.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
const PING_EVERY: Duration = Duration::from_secs(20);
const IDLE_LIMIT: Duration = Duration::from_secs(60);
const SUSPENSION_CHECK_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// The access token, for clients that cannot set the Authorization header.
    access_token: Option<String>,
}

fn token<'a>(req: &'a HttpRequest, query: &'a WsQuery) -> Option<&'a str> {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(query.access_token.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Upgrades to a WebSocket: server → client `message` frames for every room of the user;
/// client → server `send` frames answered with `ack` or `error`.
#[utoipa::path(get, path = "/api/v1/chat/ws", tag = "chat", security(("bearer" = [])), params(WsQuery),
    responses((status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade request", body = platform::error::ErrorBody),
        (status = 401, body = platform::error::ErrorBody),
        (status = 403, description = "account_suspended", body = platform::error::ErrorBody)))]
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<WsQuery>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, ApiError> {
    let jwt = req.app_data::<Jwt>().ok_or_else(|| ApiError::internal(anyhow::anyhow!("Jwt not registered")))?;
    let token = token(&req, &query).ok_or_else(|| ApiError::unauthenticated("Authentication required."))?;
    let user = jwt.verify(token)?;
    platform::auth::refuse_suspended(&req, &user)?;
    let suspensions = req.app_data::<Suspensions>().cloned();
    let (response, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::new(ErrorCode::ValidationFailed, format!("not a WebSocket upgrade: {e}")))?;
    let chat = chat.into_inner();
    let (socket_id, outgoing) = chat.hub().register(user.account_id);
    chat.socket_opened(user.account_id).await;
    actix_web::rt::spawn(run_socket(chat, user, suspensions, socket_id, session, stream, outgoing));
    Ok(response)
}

async fn run_socket(
    chat: Arc<Chat>,
    user: AuthUser,
    suspensions: Option<Suspensions>,
    socket_id: u64,
    mut session: Session,
    stream: actix_ws::MessageStream,
    mut outgoing: tokio::sync::mpsc::Receiver<Arc<str>>,
) {
    let mut stream =
        stream.max_frame_size(MAX_FRAME_BYTES).aggregate_continuations().max_continuation_size(MAX_FRAME_BYTES);
    let mut heartbeat = tokio::time::interval(PING_EVERY);
    heartbeat.tick().await;
    let mut last_seen = Instant::now();
    // The in-memory suspension list is checked every second: a suspended account's sockets
    // close within a second of the list learning of it, on every instance.
    let mut suspension_check = tokio::time::interval(SUSPENSION_CHECK_EVERY);
    let left = (user.expires_at - chrono::Utc::now().timestamp()).max(0) as u64;
    let expiry = tokio::time::sleep(Duration::from_secs(left));
    tokio::pin!(expiry);
    let reason = loop {
        tokio::select! {
            frame = outgoing.recv() => match frame {
                Some(frame) => {
                    if session.text(frame.to_string()).await.is_err() {
                        break None;
                    }
                }
                None => break Some(CloseReason { code: CloseCode::Policy, description: Some("too slow".into()) }),
            },
            incoming = stream.recv() => match incoming {
                None => break None,
                Some(Err(ProtocolError::Overflow)) => {
                    break Some(CloseReason { code: CloseCode::Size, description: Some("frame over 64 KiB".into()) });
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "websocket protocol error");
                    break Some(CloseReason { code: CloseCode::Protocol, description: None });
                }
                Some(Ok(message)) => {
                    last_seen = Instant::now();
                    let reply = match message {
                        AggregatedMessage::Text(text) => Some(handle_frame(&chat, &user, socket_id, &text).await),
                        AggregatedMessage::Binary(_) => Some(error_frame(None, "validation_failed", "binary frames are not supported")),
                        AggregatedMessage::Ping(bytes) => {
                            if session.pong(&bytes).await.is_err() {
                                break None;
                            }
                            None
                        }
                        AggregatedMessage::Pong(_) => None,
                        AggregatedMessage::Close(_) => break None,
                    };
                    if let Some(reply) = reply
                        && session.text(reply).await.is_err()
                    {
                        break None;
                    }
                }
            },
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > IDLE_LIMIT {
                    break Some(CloseReason { code: CloseCode::Away, description: Some("idle".into()) });
                }
                if session.ping(b"").await.is_err() {
                    break None;
                }
            }
            _ = suspension_check.tick() => {
                if suspensions.as_ref().is_some_and(|s| s.is_suspended(user.account_id)) {
                    break Some(CloseReason { code: CloseCode::Policy, description: Some("account suspended".into()) });
                }
            }
            _ = &mut expiry => {
                break Some(CloseReason { code: CloseCode::Policy, description: Some("access token expired".into()) });
            }
        }
    };
    chat.hub().unregister(user.account_id, socket_id);
    chat.socket_closed(user.account_id).await;
    let _ = session.close(reason).await;
}

fn error_frame(client_id: Option<&Value>, code: &str, message: &str) -> String {
    json!({ "type": "error", "client_id": client_id.cloned().unwrap_or(Value::Null), "code": code, "message": message })
        .to_string()
}

/// Answers one client frame; never fails the socket.
async fn handle_frame(chat: &Chat, user: &AuthUser, socket_id: u64, text: &str) -> String {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return error_frame(None, "invalid_json", "frames must be JSON objects");
    };
    let client_id = frame.get("client_id");
    match frame.get("type").and_then(Value::as_str) {
        Some("send") => {}
        Some(other) => return error_frame(client_id, "validation_failed", &format!("unknown frame type {other:?}")),
        None => return error_frame(client_id, "validation_failed", "missing field `type`"),
    }
    let (Some(room_id), Some(body)) =
        (frame.get("room_id").and_then(Value::as_i64), frame.get("body").and_then(Value::as_str))
    else {
        return error_frame(
            client_id,
            "validation_failed",
            "a send frame needs `room_id` (integer) and `body` (string)",
        );
    };
    match chat.post(user.account_id, room_id, body, Some(socket_id)).await {
        Ok(message) => {
            json!({ "type": "ack", "client_id": client_id.cloned().unwrap_or(Value::Null), "message": message })
                .to_string()
        }
        Err(err) => {
            let message = err.to_string();
            let api = ApiError::from(err);
            let text = match api.code() {
                "internal" | "unavailable" => "the message could not be sent; retry",
                _ => message.as_str(),
            };
            error_frame(client_id, api.code(), text)
        }
    }
}
