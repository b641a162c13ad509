//! The catalog's SQL. Each change is one statement.

use component_support::db::{self, Db, Row};
use platform_core::product::{NewProduct, ProductId};
use platform_core::ServiceError;
use spin_sdk::pg4::{DbValue, ParameterValue};

use crate::exports::shop::platform::catalog::Product;

const COLUMNS: &str = "id, name, description, price, stock, created_at, updated_at, version";

/// A product and its row version (for the cache's newer-wins writes).
pub struct Stored {
    pub product: Product,
    pub version: i64,
}

impl TryFrom<&Row> for Stored {
    type Error = ServiceError;

    fn try_from(row: &Row) -> Result<Stored, ServiceError> {
        Ok(Stored {
            product: Product {
                id: db::int64(row, 0)?,
                name: db::text(row, 1)?,
                description: db::text(row, 2)?,
                price: db::int64(row, 3)?,
                stock: db::int32(row, 4)?,
                created_at: db::timestamp(row, 5)?,
                updated_at: db::timestamp(row, 6)?,
            },
            version: db::int64(row, 7)?,
        })
    }
}

fn one(rows: &[Vec<DbValue>]) -> Result<Option<Stored>, ServiceError> {
    rows.first().map(|r| Stored::try_from(&r[..])).transpose()
}

/// A page of live products, newest first, and the number of live products.
/// A page, newest first, and the number of live products. With `known_total`
/// (cached) the page is a plain index walk; without, the rows carry the
/// count, which reads every live product (~150 ms at 400 000).
pub fn list(
    db: &Db,
    limit: i64,
    offset: i64,
    known_total: Option<u64>,
) -> Result<(Vec<Stored>, u64), ServiceError> {
    let count = if known_total.is_some() {
        ""
    } else {
        ", count(*) OVER ()"
    };
    let sql = format!(
        "SELECT {COLUMNS}{count} FROM products WHERE deleted_at IS NULL \
         ORDER BY id DESC LIMIT $1 OFFSET $2"
    );
    let rs = db.query(
        &sql,
        &[ParameterValue::Int64(limit), ParameterValue::Int64(offset)],
    )?;
    let products = rs
        .rows
        .iter()
        .map(|r| Stored::try_from(&r[..]))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(total) = known_total {
        return Ok((products, total));
    }
    let total = match rs.rows.first() {
        Some(row) => db::int64(row, 8)?,
        // Past the end (or empty): the window gave no count, so ask.
        None if offset > 0 => {
            let rs = db.query(
                "SELECT count(*) FROM products WHERE deleted_at IS NULL",
                &[],
            )?;
            rs.rows
                .first()
                .map(|r| db::int64(r, 0))
                .transpose()?
                .unwrap_or(0)
        }
        None => 0,
    };
    Ok((products, u64::try_from(total).unwrap_or(0)))
}

pub fn get(db: &Db, id: ProductId) -> Result<Option<Stored>, ServiceError> {
    let sql = format!("SELECT {COLUMNS} FROM products WHERE id = $1 AND deleted_at IS NULL");
    one(&db.query(&sql, &[ParameterValue::Int64(id.get())])?.rows)
}

pub fn insert(db: &Db, p: &NewProduct) -> Result<Stored, ServiceError> {
    let sql = format!(
        "INSERT INTO products (name, description, price, stock) VALUES ($1, $2, $3, $4) \
         RETURNING {COLUMNS}"
    );
    let rs = db.query(&sql, &params(p))?;
    one(&rs.rows)?.ok_or_else(|| ServiceError::internal("INSERT … RETURNING gave no row"))
}

pub fn update(db: &Db, id: ProductId, p: &NewProduct) -> Result<Option<Stored>, ServiceError> {
    let sql = format!(
        "UPDATE products SET name = $1, description = $2, price = $3, stock = $4, \
         updated_at = now() AT TIME ZONE 'UTC', version = version + 1 \
         WHERE id = $5 AND deleted_at IS NULL RETURNING {COLUMNS}"
    );
    let mut values = params(p).to_vec();
    values.push(ParameterValue::Int64(id.get()));
    one(&db.query(&sql, &values)?.rows)
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
