//! Chat routes. Any authenticated user; rooms one is not in answer 404.

use crate::service::{Block, Chat, Message, Room, RoomSummary, check_body};
use actix_web::{HttpResponse, web};
use contracts::account::{ProfileQuery, PublicProfile};
use contracts::{Page, Role};
use platform::ApiResult;
use platform::auth::AuthUser;
use platform::error::ErrorBody;
use platform::http::{Items, Json, Validator};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(create_room, open_direct, list_rooms, get_room, list_members, invite, post_message, list_messages, mark_read, search_users,
        crate::ws::connect, block, unblock, list_blocks),
    components(schemas(Room, RoomSummary, Message, PublicProfile, NewRoomRequest, DirectRequest, InviteRequest,
        MessageRequest, ReadRequest, MessagePage, Block, BlockRequest, Items<Block>)),
    tags((name = "chat", description = "Rooms and messages; live delivery on GET /api/v1/chat/ws"))
)]
pub struct ChatApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/chat/rooms").route(web::post().to(create_room)).route(web::get().to(list_rooms)))
        .service(web::resource("/chat/rooms/direct").route(web::post().to(open_direct)))
        .service(web::resource("/chat/rooms/{id}").route(web::get().to(get_room)))
        .service(
            web::resource("/chat/rooms/{id}/members").route(web::get().to(list_members)).route(web::post().to(invite)),
        )
        .service(
            web::resource("/chat/rooms/{id}/messages")
                .route(web::post().to(post_message))
                .route(web::get().to(list_messages)),
        )
        .service(web::resource("/chat/rooms/{id}/read").route(web::post().to(mark_read)))
        .service(web::resource("/chat/users").route(web::get().to(search_users)))
        .service(web::resource("/chat/ws").route(web::get().to(crate::ws::connect)))
        .service(web::resource("/chat/blocks").route(web::post().to(block)).route(web::get().to(list_blocks)))
        .service(web::resource("/chat/blocks/{user_id}").route(web::delete().to(unblock)));
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewRoomRequest {
    /// 1..=100 characters.
    #[schema(max_length = 100)]
    name: Option<String>,
    /// Accounts to add besides the creator (at most 99).
    #[schema(max_items = 99)]
    member_ids: Vec<i64>,
}

#[utoipa::path(post, path = "/api/v1/chat/rooms", tag = "chat", security(("bearer" = [])), request_body = NewRoomRequest,
    responses((status = 201, body = Room), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_room(
    user: AuthUser,
    chat: web::Data<Chat>,
    Json(body): Json<NewRoomRequest>,
) -> ApiResult<HttpResponse> {
    let name = body.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if let Some(name) = &name {
        Validator::default().length(name, "name", 1, 100).finish()?;
    }
    Ok(HttpResponse::Created().json(chat.create_room(user.account_id, name, body.member_ids).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DirectRequest {
    user_id: i64,
}

#[utoipa::path(post, path = "/api/v1/chat/rooms/direct", tag = "chat", security(("bearer" = [])), request_body = DirectRequest,
    responses((status = 201, description = "Created", body = Room), (status = 200, description = "Already existed", body = Room),
        (status = 400, body = ErrorBody), (status = 403, description = "blocked: the other account blocked you", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn open_direct(
    user: AuthUser,
    chat: web::Data<Chat>,
    Json(body): Json<DirectRequest>,
) -> ApiResult<HttpResponse> {
    let (room, created) = chat.open_direct(user.account_id, body.user_id).await?;
    Ok(if created { HttpResponse::Created().json(room) } else { HttpResponse::Ok().json(room) })
}

#[utoipa::path(get, path = "/api/v1/chat/rooms", tag = "chat", security(("bearer" = [])),
    responses((status = 200, description = "Most recent activity first", body = Items<RoomSummary>), (status = 401, body = ErrorBody)))]
async fn list_rooms(user: AuthUser, chat: web::Data<Chat>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Items { items: chat.rooms(user.account_id).await? }))
}

#[utoipa::path(get, path = "/api/v1/chat/rooms/{id}", tag = "chat", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Room id")),
    responses((status = 200, body = Room), (status = 404, body = ErrorBody)))]
async fn get_room(user: AuthUser, chat: web::Data<Chat>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(chat.room(user.account_id, id.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/v1/chat/rooms/{id}/members", tag = "chat", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Room id")),
    responses((status = 200, body = Items<PublicProfile>), (status = 404, body = ErrorBody)))]
async fn list_members(user: AuthUser, chat: web::Data<Chat>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Items { items: chat.members(user.account_id, id.into_inner()).await? }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteRequest {
    /// Accounts to add (a room holds at most 100 members).
    #[schema(min_items = 1, max_items = 100)]
    user_ids: Vec<i64>,
}

#[utoipa::path(post, path = "/api/v1/chat/rooms/{id}/members", tag = "chat", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Room id")), request_body = InviteRequest,
    responses((status = 200, body = Room), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn invite(
    user: AuthUser,
    chat: web::Data<Chat>,
    id: web::Path<i64>,
    Json(body): Json<InviteRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(chat.invite(user.account_id, id.into_inner(), body.user_ids).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MessageRequest {
    /// 1..=4000 characters after trimming.
    #[schema(min_length = 1, max_length = 4000)]
    body: String,
}

#[utoipa::path(post, path = "/api/v1/chat/rooms/{id}/messages", tag = "chat", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Room id")), request_body = MessageRequest,
    responses((status = 201, body = Message), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn post_message(
    user: AuthUser,
    chat: web::Data<Chat>,
    id: web::Path<i64>,
    Json(body): Json<MessageRequest>,
) -> ApiResult<HttpResponse> {
    check_body(&body.body)?;
    Ok(HttpResponse::Created().json(chat.post(user.account_id, id.into_inner(), &body.body, None).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Messages older than this id, newest first.
    #[param(minimum = 1)]
    before: Option<i64>,
    /// Messages newer than this id, oldest first (catching up after a reconnect).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// 1..=100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// A cursor list: `next_before` pages back in the default mode, `next_after` forward with `?after=`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    items: Vec<Message>,
    next_before: Option<i64>,
    next_after: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/chat/rooms/{id}/messages", tag = "chat", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Room id"), MessagesQuery),
    responses((status = 200, body = MessagePage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_messages(
    user: AuthUser,
    chat: web::Data<Chat>,
    id: web::Path<i64>,
    query: web::Query<MessagesQuery>,
) -> ApiResult<HttpResponse> {
    let limit = query.limit.unwrap_or(50);
    let mut v = Validator::default();
    v.check((1..=100).contains(&limit), "limit", "must be between 1 and 100");
    v.check(query.before.is_none_or(|b| b > 0), "before", "must be a positive id");
    v.check(query.after.is_none_or(|a| a >= 0), "after", "must be 0 or a message id");
    v.check(query.before.is_none() || query.after.is_none(), "after", "use either before or after");
    v.finish()?;
    let mut items = chat.messages(user.account_id, id.into_inner(), query.before, query.after, limit).await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let last = items.last().map(|m| m.id).filter(|_| more);
    let page = if query.after.is_some() {
        MessagePage { items, next_before: None, next_after: last }
    } else {
        MessagePage { items, next_before: last, next_after: None }
    };
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadRequest {
    message_id: i64,
}

#[utoipa::path(post, path = "/api/v1/chat/rooms/{id}/read", tag = "chat", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Room id")), request_body = ReadRequest,
    responses((status = 204, description = "Read up to this message"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn mark_read(
    user: AuthUser,
    chat: web::Data<Chat>,
    id: web::Path<i64>,
    Json(body): Json<ReadRequest>,
) -> ApiResult<HttpResponse> {
    chat.mark_read(user.account_id, id.into_inner(), body.message_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

platform::paged_query! {
    pub struct UserQuery {
        /// Part of the name, case-insensitive.
        #[param(max_length = 100)]
        q: Option<String>,
        /// `customer`, `seller` or `streamer`; absent for everyone.
        role: Option<String>,
    }
}

#[utoipa::path(get, path = "/api/v1/chat/users", tag = "chat", security(("bearer" = [])), params(UserQuery),
    responses((status = 200, body = Page<PublicProfile>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn search_users(_user: AuthUser, chat: web::Data<Chat>, query: web::Query<UserQuery>) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let page = query.page().validate()?;
    let mut v = Validator::default();
    let role = match query.role.as_deref().map(str::trim).filter(|r| !r.is_empty() && *r != "all") {
        None => None,
        Some(r) => match r.parse::<Role>() {
            Ok(role) if role != Role::Admin => Some(role),
            _ => {
                v.add("role", "must be customer, seller, streamer or all");
                None
            }
        },
    };
    if let Some(q) = &query.q {
        v.length(q, "q", 0, 100);
    }
    v.finish()?;
    let profiles = chat
        .search_users(ProfileQuery { name_contains: query.q, role, exclude_roles: vec![Role::Admin], page })
        .await?;
    Ok(HttpResponse::Ok().json(profiles))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BlockRequest {
    user_id: i64,
}

/// Blocks an account: it cannot open a direct room with you, and its new messages in shared
/// rooms are neither delivered to you nor counted unread for you. Blocking again changes nothing.
#[utoipa::path(post, path = "/api/v1/chat/blocks", tag = "chat", security(("bearer" = [])), request_body = BlockRequest,
    responses((status = 201, body = Block), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn block(user: AuthUser, chat: web::Data<Chat>, Json(body): Json<BlockRequest>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(chat.block(user.account_id, body.user_id).await?))
}

/// Lifts a block (a no-op when there is none).
#[utoipa::path(delete, path = "/api/v1/chat/blocks/{user_id}", tag = "chat", security(("bearer" = [])),
    params(("user_id" = i64, Path, description = "The blocked account")),
    responses((status = 204, description = "Not blocked any more"), (status = 401, body = ErrorBody)))]
async fn unblock(user: AuthUser, chat: web::Data<Chat>, user_id: web::Path<i64>) -> ApiResult<HttpResponse> {
    chat.unblock(user.account_id, user_id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The accounts you blocked, most recent first.
#[utoipa::path(get, path = "/api/v1/chat/blocks", tag = "chat", security(("bearer" = [])),
    responses((status = 200, body = Items<Block>), (status = 401, body = ErrorBody)))]
async fn list_blocks(user: AuthUser, chat: web::Data<Chat>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Items { items: chat.blocks(user.account_id).await? }))
}
