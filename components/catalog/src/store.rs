//! The catalog's SQL. Each change is one statement. Rows are read by column
//! name into `CachedProduct` (a product and its row version, the cache's
//! shape), the decoder the orders service uses for the same rows.

use component_support::catalog_cache::CachedProduct;
use component_support::db::{self, Db};
use platform_core::product::{NewProduct, ProductId};
use platform_core::ServiceError;
use spin_sdk::pg4::{ParameterValue, RowSet};

/// A product's columns, named as `CachedProduct::from_rows` reads them.
const COLUMNS: &str =
    "id AS product_id, name, description, price, stock, created_at, updated_at, version";

fn one(rs: &RowSet) -> Result<Option<CachedProduct>, ServiceError> {
    Ok(CachedProduct::from_rows(rs)?.into_iter().next())
}

/// A page, newest first, and the number of live products. With `known_total`
/// (cached) the page is a plain index walk; without, the rows carry the
/// count, which reads every live product (~150 ms at 400 000).
pub fn list(
    db: &Db,
    limit: i64,
    offset: i64,
    known_total: Option<u64>,
) -> Result<(Vec<CachedProduct>, u64), ServiceError> {
    let count = if known_total.is_some() {
        ""
    } else {
        ", count(*) OVER () AS total"
    };
    let sql = format!(
        "SELECT {COLUMNS}{count} FROM products WHERE deleted_at IS NULL \
         ORDER BY id DESC LIMIT $1 OFFSET $2"
    );
    let rs = db.query(
        &sql,
        &[ParameterValue::Int64(limit), ParameterValue::Int64(offset)],
    )?;
    let products = CachedProduct::from_rows(&rs)?;
    if let Some(total) = known_total {
        return Ok((products, total));
    }
    let count = "SELECT count(*) FROM products WHERE deleted_at IS NULL";
    let total = db::page_total(db, &rs, offset, count, &[])?;
    Ok((products, total))
}

pub fn get(db: &Db, id: ProductId) -> Result<Option<CachedProduct>, ServiceError> {
    let sql = format!("SELECT {COLUMNS} FROM products WHERE id = $1 AND deleted_at IS NULL");
    one(&db.query(&sql, &[ParameterValue::Int64(id.get())])?)
}

pub fn insert(db: &Db, p: &NewProduct) -> Result<CachedProduct, ServiceError> {
    let sql = format!(
        "INSERT INTO products (name, description, price, stock) VALUES ($1, $2, $3, $4) \
         RETURNING {COLUMNS}"
    );
    let rs = db.query(&sql, &params(p))?;
    one(&rs)?.ok_or_else(|| ServiceError::internal("INSERT … RETURNING gave no row"))
}

pub fn update(
    db: &Db,
    id: ProductId,
    p: &NewProduct,
) -> Result<Option<CachedProduct>, ServiceError> {
    let sql = format!(
        "UPDATE products SET name = $1, description = $2, price = $3, stock = $4, \
         updated_at = now() AT TIME ZONE 'UTC', version = version + 1 \
         WHERE id = $5 AND deleted_at IS NULL RETURNING {COLUMNS}"
    );
    let mut values = params(p).to_vec();
    values.push(ParameterValue::Int64(id.get()));
    one(&db.query(&sql, &values)?)
}

/// Soft delete: past orders keep referencing the row. True if it was live.
pub fn delete(db: &Db, id: ProductId) -> Result<bool, ServiceError> {
    let n = db.execute(
        "UPDATE products SET deleted_at = now() AT TIME ZONE 'UTC', \
         updated_at = now() AT TIME ZONE 'UTC', version = version + 1 \
         WHERE id = $1 AND deleted_at IS NULL",
        &[ParameterValue::Int64(id.get())],
    )?;
    Ok(n > 0)
}

fn params(p: &NewProduct) -> [ParameterValue; 4] {
    [
        ParameterValue::Str(p.name.as_str().to_string()),
        ParameterValue::Str(p.description.as_str().to_string()),
        ParameterValue::Int64(p.price.get()),
        ParameterValue::Int32(p.stock.get()),
    ]
}
