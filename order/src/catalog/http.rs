//! Seller catalog routes and public product search/detail.

use super::model::{Description, Invalid, Item, MAX_ITEMS_PER_PRODUCT, NewItem, Price, Product, ProductName, Stock};
use super::{Catalog, ItemUpdate};
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use contracts::Page;
use contracts::catalog::ProductSummary;
use platform::ApiResult;
use platform::auth::{AsSeller, MaybeAuthUser};
use platform::error::{ApiError, ErrorBody};
use platform::http::{Json, PageQuery, Validator};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(create_product, my_products, update_product, delete_product, add_item, update_item, delete_item, search, product),
    components(schemas(Product, Item, ProductSummary, NewProductRequest, NewItemRequest, UpdateProductRequest, UpdateItemRequest)),
    tags((name = "catalog", description = "Products and items"))
)]
pub struct CatalogApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/seller/products").route(web::post().to(create_product)).route(web::get().to(my_products)),
    )
    .service(
        web::resource("/seller/products/{id}")
            .route(web::patch().to(update_product))
            .route(web::delete().to(delete_product)),
    )
    .service(web::resource("/seller/products/{id}/items").route(web::post().to(add_item)))
    .service(
        web::resource("/seller/products/{id}/items/{item_id}")
            .route(web::patch().to(update_item))
            .route(web::delete().to(delete_item)),
    )
    .service(web::resource("/products").route(web::get().to(search)))
    .service(web::resource("/products/{id}").route(web::get().to(product)));
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewItemRequest {
    /// 1..=100 characters, unique within the product.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// 0..=100,000,000 points.
    #[schema(minimum = 0, maximum = 100_000_000)]
    price: i64,
    /// 0..=1,000,000.
    #[schema(minimum = 0, maximum = 1_000_000)]
    stock: i64,
}

/// Collects the fields that did not parse and answers them all at once as
/// `validation_failed` (the first problem of a field wins).
#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Fields {
    fn take<T>(&mut self, field: &str, parsed: Result<T, Invalid>) -> Option<T> {
        parsed.map_err(|Invalid(problem)| self.0.entry(field.to_string()).or_insert(problem)).ok()
    }

    fn check(&mut self, ok: bool, field: &str, problem: &str) {
        if !ok {
            self.0.entry(field.to_string()).or_insert_with(|| problem.to_string());
        }
    }

    /// The parsed value once every field parsed.
    fn finish<T>(self, parsed: Option<T>) -> ApiResult<T> {
        match parsed {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(ApiError::validation(self.0)),
        }
    }
}

fn parse_item(fields: &mut Fields, prefix: &str, item: &NewItemRequest) -> Option<NewItem> {
    let name = fields.take(&format!("{prefix}name"), ProductName::parse(&item.name));
    let price = fields.take(&format!("{prefix}price"), Price::new(item.price));
    let stock = fields.take(&format!("{prefix}stock"), Stock::new(item.stock));
    Some(NewItem { name: name?, price: price?, stock: stock? })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewProductRequest {
    /// 1..=100 characters, unique among the seller's products.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// At most 5000 characters.
    #[serde(default)]
    #[schema(max_length = 5000)]
    description: String,
    /// 1..=100 items.
    #[schema(min_items = 1, max_items = 100)]
    items: Vec<NewItemRequest>,
}

#[utoipa::path(post, path = "/api/v1/seller/products", tag = "catalog", security(("bearer" = [])), request_body = NewProductRequest,
    responses((status = 201, body = Product), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "name_taken", body = ErrorBody)))]
async fn create_product(
    user: AsSeller,
    catalog: web::Data<Catalog>,
    Json(body): Json<NewProductRequest>,
) -> ApiResult<HttpResponse> {
    let mut fields = Fields::default();
    let name = fields.take("name", ProductName::parse(&body.name));
    let description = fields.take("description", Description::parse(&body.description));
    fields.check((1..=MAX_ITEMS_PER_PRODUCT).contains(&body.items.len()), "items", "must hold 1 to 100 items");
    let items: Option<Vec<NewItem>> =
        body.items.iter().enumerate().map(|(i, item)| parse_item(&mut fields, &format!("items[{i}]."), item)).collect();
    let (name, description, items) = fields.finish(name.zip(description).zip(items).map(|((n, d), i)| (n, d, i)))?;
    let mut seen = HashSet::new();
    if let Some(dup) = items.iter().find(|i| !seen.insert(super::model::name_key(i.name.as_str()))) {
        return Err(crate::error::OrderError::NameTaken(dup.name.as_str().to_string()).into());
    }
    let product = catalog.create_product(user.account(), name, description, items).await?;
    Ok(HttpResponse::Created().json(product))
}

#[utoipa::path(get, path = "/api/v1/seller/products", tag = "catalog", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<Product>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn my_products(
    user: AsSeller,
    catalog: web::Data<Catalog>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = query.validate()?;
    Ok(HttpResponse::Ok().json(catalog.seller_products(user.account(), page).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateProductRequest {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(max_length = 5000)]
    description: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/seller/products/{id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id")), request_body = UpdateProductRequest,
    responses((status = 200, body = Product), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "name_taken", body = ErrorBody)))]
async fn update_product(
    user: AsSeller,
    catalog: web::Data<Catalog>,
    id: web::Path<i64>,
    Json(body): Json<UpdateProductRequest>,
) -> ApiResult<HttpResponse> {
    let mut fields = Fields::default();
    let name = body.name.as_deref().map(|n| fields.take("name", ProductName::parse(n)));
    let description = body.description.as_deref().map(|d| fields.take("description", Description::parse(d)));
    let (name, description) = fields.finish(Some((name.flatten(), description.flatten())))?;
    Ok(HttpResponse::Ok()
        .json(catalog.update_product(user.account(), id.into_inner().into(), name, description).await?))
}

#[utoipa::path(delete, path = "/api/v1/seller/products/{id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_product(user: AsSeller, catalog: web::Data<Catalog>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    catalog.delete_product(user.account(), id.into_inner().into()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/seller/products/{id}/items", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id")), request_body = NewItemRequest,
    responses((status = 201, body = Item), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "name_taken", body = ErrorBody)))]
async fn add_item(
    user: AsSeller,
    catalog: web::Data<Catalog>,
    id: web::Path<i64>,
    Json(body): Json<NewItemRequest>,
) -> ApiResult<HttpResponse> {
    let mut fields = Fields::default();
    let item = parse_item(&mut fields, "", &body);
    let item = fields.finish(item)?;
    Ok(HttpResponse::Created().json(catalog.add_item(user.account(), id.into_inner().into(), item).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateItemRequest {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(minimum = 0, maximum = 100_000_000)]
    price: Option<i64>,
    #[schema(minimum = 0, maximum = 1_000_000)]
    stock: Option<i64>,
}

#[utoipa::path(patch, path = "/api/v1/seller/products/{id}/items/{item_id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id"), ("item_id" = i64, Path, description = "Item id")),
    request_body = UpdateItemRequest,
    responses((status = 200, body = Item), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "name_taken", body = ErrorBody)))]
async fn update_item(
    user: AsSeller,
    catalog: web::Data<Catalog>,
    path: web::Path<(i64, i64)>,
    Json(body): Json<UpdateItemRequest>,
) -> ApiResult<HttpResponse> {
    let (product_id, item_id) = path.into_inner();
    let mut fields = Fields::default();
    let name = body.name.as_deref().and_then(|n| fields.take("name", ProductName::parse(n)));
    let price = body.price.and_then(|p| fields.take("price", Price::new(p)));
    let stock = body.stock.and_then(|s| fields.take("stock", Stock::new(s)));
    let update = fields.finish(Some(ItemUpdate { name, price, stock }))?;
    Ok(HttpResponse::Ok().json(catalog.update_item(user.account(), product_id.into(), item_id.into(), update).await?))
}

#[utoipa::path(delete, path = "/api/v1/seller/products/{id}/items/{item_id}", tag = "catalog", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id"), ("item_id" = i64, Path, description = "Item id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_item(
    user: AsSeller,
    catalog: web::Data<Catalog>,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let (product_id, item_id) = path.into_inner();
    catalog.delete_item(user.account(), product_id.into(), item_id.into()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words that must each start a word of the name, case-insensitive.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Zero-based page number (default 0).
    #[param(minimum = 0)]
    page: Option<i64>,
    /// Items per page, 1..=100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    size: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", params(SearchQuery),
    responses((status = 200, body = Page<ProductSummary>), (status = 400, body = ErrorBody), (status = 401, description = "A token was sent and is invalid", body = ErrorBody)))]
async fn search(
    _user: MaybeAuthUser,
    catalog: web::Data<Catalog>,
    query: web::Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let page = PageQuery { page: query.page, size: query.size }.validate()?;
    let q = query.q.unwrap_or_default();
    Validator::default().length(&q, "q", 0, 200).finish()?;
    Ok(HttpResponse::Ok().json(catalog.search(&q, page).await?))
}

#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalog", params(("id" = i64, Path, description = "Product id")),
    responses((status = 200, body = Product), (status = 401, description = "A token was sent and is invalid", body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn product(user: MaybeAuthUser, catalog: web::Data<Catalog>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let viewer = user.0.map(|u| u.account_id);
    let body = catalog.product_json(id.into_inner(), viewer).await?;
    Ok(HttpResponse::Ok().content_type(ContentType::json()).body(body))
}
