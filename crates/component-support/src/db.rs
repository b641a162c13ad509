//! Postgres through `spin:postgres/postgres@4.0.0`.
//!
//! Rules Spin 3.6.3 forces (spin-facts): parameters carry the column's exact
//! type, `timestamptz` is never read, and no transaction outlives a call —
//! every atomic change is one statement, which is also why a statement that
//! lost a serialization race or a deadlock can simply run once more.

use platform_core::page::Page;
use platform_core::sqlstate::{self, DbFailure};
use platform_core::ServiceError;
use spin_sdk::pg4::{Connection, DbValue, ParameterValue, PgError, QueryError, RowSet};

/// A row as Spin returns it; services map it with `TryFrom<&Row>`.
pub type Row = [DbValue];

pub struct Db {
    conn: Connection,
}

/// A failed statement: what it means to the caller, and what Postgres said
/// (so a service that knows more can say it better, e.g. which product ran
/// out of stock). `?` turns it into the contract's error.
#[derive(Debug)]
pub struct DbError {
    code: Option<String>,
    constraint: Option<String>,
    error: ServiceError,
}

impl DbError {
    /// The SQLSTATE, when the server answered.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The violated constraint's name, for 23xxx errors.
    pub fn constraint(&self) -> Option<&str> {
        self.constraint.as_deref()
    }
}

impl From<DbError> for ServiceError {
    fn from(e: DbError) -> ServiceError {
        e.error
    }
}

impl Db {
    pub fn open(url: &str) -> Result<Db, ServiceError> {
        Connection::open(url)
            .map(|conn| Db { conn })
            .map_err(|e| classify("open", &e).error)
    }

    // The SDK's PgError is large; it never leaves this module.
    #[allow(clippy::result_large_err)]
    pub fn query(&self, sql: &str, params: &[ParameterValue]) -> Result<RowSet, DbError> {
        self.retrying(sql, || self.conn.query(sql, params))
    }

    /// Runs a statement and returns the number of rows it affected.
    #[allow(clippy::result_large_err)]
    pub fn execute(&self, sql: &str, params: &[ParameterValue]) -> Result<u64, DbError> {
        self.retrying(sql, || self.conn.execute(sql, params))
    }

    /// Runs `run` again once when the first attempt lost a race; a second
    /// loss is a 503 (the database is too contended to answer now).
    fn retrying<T>(&self, sql: &str, run: impl Fn() -> Result<T, PgError>) -> Result<T, DbError> {
        match run() {
            Ok(v) => Ok(v),
            Err(e) if is_retryable(&e) => run().map_err(|e| {
                if is_retryable(&e) {
                    DbError {
                        code: server_error(&e).map(|(code, _)| code.to_string()),
                        constraint: None,
                        error: ServiceError::unavailable("The database is busy; try again"),
                    }
                } else {
                    classify(sql, &e)
                }
            }),
            Err(e) => Err(classify(sql, &e)),
        }
    }
}

/// SQLSTATE and message of a server-side error.
fn server_error(err: &PgError) -> Option<(&str, &str)> {
    match err {
        PgError::QueryFailed(QueryError::DbError(db)) => {
            Some((db.code.as_str(), db.message.as_str()))
        }
        _ => None,
    }
}

fn is_retryable(err: &PgError) -> bool {
    server_error(err).is_some_and(|(code, msg)| {
        matches!(sqlstate::classify(code, msg), Some(DbFailure::Retryable))
    })
}

fn classify(context: &str, err: &PgError) -> DbError {
    if let PgError::ConnectionFailed(detail) = err {
        // The detail can name the host, never the password; keep it short.
        crate::log::error("postgres connection failed", first_line(detail));
        return DbError {
            code: None,
            constraint: None,
            error: ServiceError::unavailable("The database is unavailable"),
        };
    }
    let (code, message) = server_error(err).unwrap_or(("", ""));
    let error = match sqlstate::classify(code, message) {
        Some(DbFailure::Final(e)) => e,
        _ => ServiceError::internal(format!(
            "postgres error in `{}`: {err:?}",
            first_line(context)
        )),
    };
    DbError {
        code: (!code.is_empty()).then(|| code.to_string()),
        constraint: sqlstate::constraint_name(message).map(str::to_string),
        error,
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

/// Where the column `name` sits in `rs`: look it up once per result set,
/// then read every row by that index. No such column is a bug (the query
/// and its reader disagree), reported as internal, never a panic.
pub fn column(rs: &RowSet, name: &str) -> Result<usize, ServiceError> {
    rs.columns
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = rs.columns.iter().map(|c| c.name.as_str()).collect();
            ServiceError::internal(format!("no column {name:?} among {names:?}"))
        })
}

/// Column readers by position; a wrong type is a bug, reported as internal.
fn decode_error(column: usize, value: Option<&DbValue>) -> ServiceError {
    ServiceError::internal(format!(
        "unexpected postgres value in column {column}: {:?}",
        value.unwrap_or(&DbValue::DbNull)
    ))
}

/// The total of a page whose rows carry `count(*) OVER () AS total`: from
/// its first row; past the end the window gives no row, so `count`
/// (a `SELECT count(*) …` with `params`) asks — except on the first page,
/// where no row means none at all.
pub fn page_total(
    db: &Db,
    page: &RowSet,
    offset: i64,
    count: &str,
    params: &[ParameterValue],
) -> Result<u64, ServiceError> {
    let total = match page.rows.first() {
        // Spin names the columns only when there is a row.
        Some(row) => int64(row, column(page, "total")?)?,
        None if offset > 0 => match db.query(count, params)?.rows.first() {
            Some(row) => int64(row, 0)?,
            None => 0,
        },
        None => 0,
    };
    Ok(u64::try_from(total).unwrap_or(0))
}

/// `LIMIT $n OFFSET $m` for a page fetched one row too long (no count:
/// the extra row says whether another page follows), its two values
/// appended to `params`.
pub fn page_window(page: &Page, params: &mut Vec<ParameterValue>) -> String {
    params.push(ParameterValue::Int64(page.limit() + 1));
    params.push(ParameterValue::Int64(page.offset()));
    format!("LIMIT ${} OFFSET ${}", params.len() - 1, params.len())
}

/// The rows of a [`page_window`] page, and whether another page follows.
pub fn split_page<T>(mut rows: Vec<T>, page: &Page) -> (Vec<T>, bool) {
    let size = usize::try_from(page.limit()).unwrap_or(usize::MAX);
    let more = rows.len() > size;
    rows.truncate(size);
    (rows, more)
}

pub fn int64(row: &Row, i: usize) -> Result<i64, ServiceError> {
    match row.get(i) {
        Some(DbValue::Int64(v)) => Ok(*v),
        Some(DbValue::Int32(v)) => Ok(i64::from(*v)),
        other => Err(decode_error(i, other)),
    }
}

pub fn int32(row: &Row, i: usize) -> Result<i32, ServiceError> {
    match row.get(i) {
        Some(DbValue::Int32(v)) => Ok(*v),
        other => Err(decode_error(i, other)),
    }
}

/// A nullable bigint column.
pub fn opt_int64(row: &Row, i: usize) -> Result<Option<i64>, ServiceError> {
    match row.get(i) {
        Some(DbValue::DbNull) => Ok(None),
        _ => int64(row, i).map(Some),
    }
}

/// A nullable `double precision` column.
pub fn opt_float64(row: &Row, i: usize) -> Result<Option<f64>, ServiceError> {
    match row.get(i) {
        Some(DbValue::DbNull) => Ok(None),
        Some(DbValue::Floating64(v)) => Ok(Some(*v)),
        other => Err(decode_error(i, other)),
    }
}

pub fn boolean(row: &Row, i: usize) -> Result<bool, ServiceError> {
    match row.get(i) {
        Some(DbValue::Boolean(v)) => Ok(*v),
        other => Err(decode_error(i, other)),
    }
}

pub fn text(row: &Row, i: usize) -> Result<String, ServiceError> {
    match row.get(i) {
        Some(DbValue::Str(v)) => Ok(v.clone()),
        other => Err(decode_error(i, other)),
    }
}

/// A nullable text column.
pub fn opt_text(row: &Row, i: usize) -> Result<Option<String>, ServiceError> {
    match row.get(i) {
        Some(DbValue::DbNull) => Ok(None),
        Some(DbValue::Str(v)) => Ok(Some(v.clone())),
        other => Err(decode_error(i, other)),
    }
}

/// A UTC `timestamp` column as RFC 3339 text.
pub fn timestamp(row: &Row, i: usize) -> Result<String, ServiceError> {
    match row.get(i) {
        Some(DbValue::Datetime((y, mo, d, h, mi, s, ns))) => Ok(platform_core::time::rfc3339_utc(
            *y, *mo, *d, *h, *mi, *s, *ns,
        )),
        other => Err(decode_error(i, other)),
    }
}

/// A nullable UTC `timestamp` column as RFC 3339 text.
pub fn opt_timestamp(row: &Row, i: usize) -> Result<Option<String>, ServiceError> {
    match row.get(i) {
        Some(DbValue::DbNull) => Ok(None),
        _ => timestamp(row, i).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spin_sdk::pg4::{Column, DbDataType};

    #[test]
    fn columns_are_found_by_name() {
        let rs = RowSet {
            columns: ["outcome", "product_id", "stock"]
                .map(|name| Column {
                    name: name.to_string(),
                    data_type: DbDataType::Int64,
                })
                .to_vec(),
            rows: Vec::new(),
        };
        assert_eq!(column(&rs, "product_id"), Ok(1));
        assert_eq!(column(&rs, "stock"), Ok(2));
        assert!(matches!(
            column(&rs, "price"),
            Err(ServiceError::Internal(m)) if m.contains("price")
        ));
    }
}
