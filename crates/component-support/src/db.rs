//! Postgres through `spin:postgres/postgres@4.0.0`.
//!
//! Rules Spin 3.6.3 forces (spin-facts): parameters carry the column's exact
//! type, `timestamptz` is never read, and no transaction outlives a call —
//! every atomic change is one statement.

use platform_core::{ApiError, ErrorKind};
use spin_sdk::pg4::{
    Connection, DbValue, Error as SdkError, ParameterValue, PgError, QueryError, RowSet,
};

pub struct Db {
    conn: Connection,
}

impl Db {
    pub fn open(url: &str) -> Result<Db, ApiError> {
        Connection::open(url)
            .map(|conn| Db { conn })
            .map_err(|e| map_error("open", &e))
    }

    pub fn query(&self, sql: &str, params: &[ParameterValue]) -> Result<RowSet, ApiError> {
        self.conn.query(sql, params).map_err(|e| map_error(sql, &e))
    }

    /// Runs a statement and returns the number of rows it affected.
    pub fn execute(&self, sql: &str, params: &[ParameterValue]) -> Result<u64, ApiError> {
        self.conn
            .execute(sql, params)
            .map_err(|e| map_error(sql, &e))
    }
}

/// The SQLSTATE of a server-side error, if that is what failed.
pub fn sqlstate(err: &PgError) -> Option<&str> {
    match err {
        PgError::QueryFailed(QueryError::DbError(db)) => Some(db.code.as_str()),
        _ => None,
    }
}

fn map_error(context: &str, err: &PgError) -> ApiError {
    let unavailable = || ApiError::new(ErrorKind::Unavailable, "The database is unavailable");
    match err {
        PgError::ConnectionFailed(detail) => {
            // The detail can name the host, never the password; still keep it short.
            eprintln!("postgres connection failed: {}", first_line(detail));
            unavailable()
        }
        _ => match sqlstate(err) {
            // Connection exceptions, shutdowns, too many connections.
            Some(code) if code.starts_with("08") || code.starts_with("57P") || code == "53300" => {
                eprintln!("postgres unavailable ({code})");
                unavailable()
            }
            Some("23514") => ApiError::invalid("A value is out of range"),
            _ => {
                eprintln!("postgres error in `{}`: {err:?}", first_line(context));
                ApiError::internal()
            }
        },
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

/// Column readers by position; a wrong type is a bug, reported as internal.
pub fn decode_error(column: usize, value: &DbValue) -> ApiError {
    eprintln!("unexpected postgres value in column {column}: {value:?}");
    ApiError::internal()
}

pub fn int64(row: &[DbValue], i: usize) -> Result<i64, ApiError> {
    match row.get(i) {
        Some(DbValue::Int64(v)) => Ok(*v),
        Some(DbValue::Int32(v)) => Ok(i64::from(*v)),
        other => Err(decode_error(i, other.unwrap_or(&DbValue::DbNull))),
    }
}

pub fn int32(row: &[DbValue], i: usize) -> Result<i32, ApiError> {
    match row.get(i) {
        Some(DbValue::Int32(v)) => Ok(*v),
        other => Err(decode_error(i, other.unwrap_or(&DbValue::DbNull))),
    }
}

pub fn text(row: &[DbValue], i: usize) -> Result<String, ApiError> {
    match row.get(i) {
        Some(DbValue::Str(v)) => Ok(v.clone()),
        other => Err(decode_error(i, other.unwrap_or(&DbValue::DbNull))),
    }
}

/// A UTC `timestamp` column as RFC 3339 text.
pub fn timestamp(row: &[DbValue], i: usize) -> Result<String, ApiError> {
    match row.get(i) {
        Some(DbValue::Datetime((y, mo, d, h, mi, s, ns))) => Ok(platform_core::time::rfc3339_utc(
            *y, *mo, *d, *h, *mi, *s, *ns,
        )),
        other => Err(decode_error(i, other.unwrap_or(&DbValue::DbNull))),
    }
}

/// Keeps the SDK's decode error type reachable for callers that use `Decode`.
pub fn from_sdk(err: SdkError) -> ApiError {
    match err {
        SdkError::PgError(e) => map_error("decode", &e),
        SdkError::Decode(detail) => {
            eprintln!("postgres decode error: {detail}");
            ApiError::internal()
        }
    }
}
