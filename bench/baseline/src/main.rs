//! The same Postgres and Redis work per request as the catalog component —
//! cache-aside with the same keys, TTL and SQL — as a native service with
//! pooled connections: the baseline `cargo xtask bench` compares against.

use std::str::FromStr;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use platform_core::page::Page;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::{NoTls, Row};

/// The catalog's cache format (components/catalog/src/cached.rs), so both
/// read and write the same entries.
#[derive(Serialize, Deserialize)]
struct ProductJson {
    v: u32,
    version: i64,
    id: i64,
    name: String,
    description: String,
    price: i64,
    stock: i32,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, Deserialize)]
struct ProductPageJson {
    v: u32,
    products: Vec<ProductJson>,
    total: u64,
}

/// A list entry (API.md: no timestamps).
#[derive(Serialize)]
struct ProductSummaryJson<'a> {
    id: i64,
    name: &'a str,
    description: &'a str,
    price: i64,
    stock: i32,
}

impl<'a> From<&'a ProductJson> for ProductSummaryJson<'a> {
    fn from(p: &'a ProductJson) -> Self {
        ProductSummaryJson {
            id: p.id,
            name: &p.name,
            description: &p.description,
            price: p.price,
            stock: p.stock,
        }
    }
}

/// The API body of one product: the cached form without its version.
fn api(p: &ProductJson) -> serde_json::Value {
    json!({"id": p.id, "name": p.name, "description": p.description, "price": p.price,
           "stock": p.stock, "created_at": p.created_at, "updated_at": p.updated_at})
}

#[derive(Parser)]
struct Args {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    #[arg(long, default_value = "127.0.0.1:3200")]
    listen: String,
}

#[derive(Clone)]
struct AppState {
    pg: Pool,
    redis: ConnectionManager,
}

const TTL: u64 = 600;
const COLUMNS: &str =
    "id, name, description, price, stock, created_at::text, updated_at::text, version";

fn product(row: &Row) -> ProductJson {
    ProductJson {
        v: 1,
        version: row.get(7),
        id: row.get(0),
        name: row.get(1),
        description: row.get(2),
        price: row.get(3),
        stock: row.get(4),
        created_at: row.get(5),
        updated_at: row.get(6),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn get_product(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = platform_core::path::parse_id(&id, "product id") else {
        return error(
            StatusCode::BAD_REQUEST,
            "product id must be a positive integer",
        );
    };
    let key = format!("catalog:product:{id}");
    let mut redis = s.redis.clone();
    if let Ok(Some(bytes)) = redis.get::<_, Option<Vec<u8>>>(&key).await {
        if let Ok(p) = serde_json::from_slice::<ProductJson>(&bytes) {
            return Json(json!({ "product": api(&p) })).into_response();
        }
    }
    let Ok(client) = s.pg.get().await else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database is unavailable",
        );
    };
    let sql = format!("SELECT {COLUMNS} FROM products WHERE id = $1 AND deleted_at IS NULL");
    match client.query_opt(&sql, &[&id]).await {
        Ok(Some(row)) => {
            let p = product(&row);
            if let Ok(bytes) = serde_json::to_vec(&p) {
                let _: Result<(), _> = redis.set_ex(&key, bytes, TTL).await;
            }
            Json(json!({ "product": api(&p) })).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("Product {id} not found")),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
    }
}

async fn list_products(State(s): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let Ok(page) = Page::from_query(query.as_deref().unwrap_or("")) else {
        return error(StatusCode::BAD_REQUEST, "invalid page");
    };
    let mut redis = s.redis.clone();
    let version: String = redis
        .get::<_, Option<String>>("catalog:list-version")
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| "0".into());
    let key = format!("catalog:list:v{version}:{}:{}", page.page, page.page_size);
    let cached = redis
        .get::<_, Option<Vec<u8>>>(&key)
        .await
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice::<ProductPageJson>(&b).ok());
    let data = match cached {
        Some(d) => d,
        None => {
            let Ok(client) = s.pg.get().await else {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database is unavailable",
                );
            };
            let sql = format!(
                "SELECT {COLUMNS}, count(*) OVER () FROM products WHERE deleted_at IS NULL \
                 ORDER BY id DESC LIMIT $1 OFFSET $2"
            );
            let Ok(rows) = client.query(&sql, &[&page.limit(), &page.offset()]).await else {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
            };
            let total = rows.first().map_or(0, |r| r.get::<_, i64>(8)) as u64;
            let d = ProductPageJson {
                v: 1,
                products: rows.iter().map(product).collect(),
                total,
            };
            if let Ok(bytes) = serde_json::to_vec(&d) {
                let _: Result<(), _> = redis.set_ex(&key, bytes, TTL).await;
            }
            d
        }
    };
    let products: Vec<ProductSummaryJson> =
        data.products.iter().map(ProductSummaryJson::from).collect();
    Json(json!({"products": products, "total": data.total, "page": page.page, "page_size": page.page_size}))
        .into_response()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let manager = Manager::from_config(
        tokio_postgres::Config::from_str(&args.database_url)?,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pg = Pool::builder(manager).max_size(64).build()?;
    let redis = ConnectionManager::new(redis::Client::open(args.redis_url.as_str())?).await?;
    let app = Router::new()
        .route("/product", get(list_products))
        .route("/product/{id}", get(get_product))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .with_state(AppState { pg, redis });
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
