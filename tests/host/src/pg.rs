//! `spin:postgres/postgres@4.0.0`, as Spin 3.6.3 implements it: a deadpool
//! pool (64) per connection string, `allowed_outbound_hosts` checked on open,
//! tokio-postgres' strict parameter typing, its type mapping on read
//! (including the failure on `timestamptz`), and columns taken from the
//! first row. Unlike Spin, it notices a connection handed back inside a
//! transaction (Spin silently leaks it to the next request) and counts it.

// The WIT error type is large (it carries Postgres' error fields), as in Spin.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::error::Error as StdError;
use std::str::FromStr;
use std::sync::Mutex;

use bytes::BytesMut;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use postgres_types::{FromSql, IsNull, ToSql, Type};
use tokio_postgres::{NoTls, Row};
use wasmtime::component::Resource;

use crate::bindings::spin::postgres4_0_0::postgres::{
    Column, DbDataType, DbError, DbValue, Error, Host, HostConnection, Interval, ParameterValue,
    QueryError, RowSet,
};
use crate::runtime::{HostState, Services};
use crate::stats::Stats;

const POOL_SIZE: usize = 64;

/// The guest's handle: an index into the store's checked-out connections.
pub struct PgConnection {
    slot: usize,
}

/// Pools shared by every instance of the process, keyed by connection string.
#[derive(Default)]
pub struct PgPools {
    pools: Mutex<HashMap<String, Pool>>,
}

impl PgPools {
    fn pool(&self, address: &str, config: tokio_postgres::Config) -> Result<Pool, String> {
        let mut pools = self
            .pools
            .lock()
            .map_err(|_| "pool lock poisoned".to_string())?;
        if let Some(p) = pools.get(address) {
            return Ok(p.clone());
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Clean,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| format!("{e:?}"))?;
        pools.insert(address.to_string(), pool.clone());
        Ok(pool)
    }
}

impl Host for HostState {}

impl HostConnection for HostState {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<PgConnection>, Error>> {
        let config = match tokio_postgres::Config::from_str(&address) {
            Ok(c) => c,
            Err(e) => {
                return Ok(Err(Error::ConnectionFailed(format!(
                    "invalid address: {e}"
                ))))
            }
        };
        let (host, port) = match target(&config) {
            Ok(t) => t,
            Err(e) => return Ok(Err(Error::ConnectionFailed(e))),
        };
        if !self.config.allowed.allows("postgres", &host, port) {
            Stats::bump(&self.services.stats.outbound_denied);
            return Ok(Err(Error::ConnectionFailed(format!(
                "address postgres://{host}:{port} is not permitted"
            ))));
        }
        if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            return Ok(Err(Error::ConnectionFailed(
                "sslmode=require is not supported by the project host (use sslmode=disable locally)".into(),
            )));
        }
        let pool = match self.services.pg.pool(&address, config) {
            Ok(p) => p,
            Err(e) => return Ok(Err(Error::ConnectionFailed(e))),
        };
        let client = match pool.get().await {
            Ok(c) => c,
            Err(e) => return Ok(Err(Error::ConnectionFailed(format!("{e:?}")))),
        };
        Stats::bump(&self.services.stats.pg_connections);
        self.pg_clients.push(Some(client));
        let slot = self.pg_clients.len() - 1;
        Ok(Ok(self.table.push(PgConnection { slot })?))
    }

    async fn query(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<RowSet, Error>> {
        Stats::bump(&self.services.stats.pg_statements);
        let client = self.client(&conn)?;
        let params = match to_sql_params(params) {
            Ok(p) => p,
            Err(e) => return Ok(Err(Error::BadParameter(e))),
        };
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
        let rows = match client.query(&statement, &refs).await {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(query_failed(e))),
        };
        Ok(convert_rows(&rows))
    }

    async fn execute(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, Error>> {
        Stats::bump(&self.services.stats.pg_statements);
        let client = self.client(&conn)?;
        let params = match to_sql_params(params) {
            Ok(p) => p,
            Err(e) => return Ok(Err(Error::ValueConversionFailed(e))),
        };
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
        Ok(client
            .execute(&statement, &refs)
            .await
            .map_err(query_failed))
    }

    async fn drop(&mut self, conn: Resource<PgConnection>) -> wasmtime::Result<()> {
        let PgConnection { slot } = self.table.delete(conn)?;
        if let Some(client) = self.pg_clients.get_mut(slot).and_then(Option::take) {
            release(client, &self.services).await;
        }
        Ok(())
    }
}

impl HostState {
    fn client(&self, conn: &Resource<PgConnection>) -> wasmtime::Result<&Object> {
        let slot = self.table.get(conn)?.slot;
        self.pg_clients
            .get(slot)
            .and_then(Option::as_ref)
            .ok_or_else(|| wasmtime::format_err!("postgres connection already released"))
    }

    /// Returns every connection the guest did not drop (it trapped, or
    /// returned while still holding one), checking each for an open transaction.
    pub async fn release_pg_connections(&mut self) {
        let clients: Vec<Object> = self
            .pg_clients
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for client in clients {
            release(client, &self.services).await;
        }
    }
}

/// Hands a connection back to the pool. If it is still inside a transaction
/// (in a transaction `now()` is the transaction's start, not the statement's),
/// that is a bug Spin would turn into cross-request leakage: count it, log it,
/// and roll back so later tests are not poisoned.
async fn release(client: Object, services: &Services) {
    if !services.check_transactions {
        return;
    }
    let stats = &services.stats;
    // The simple protocol sends one message, so outside a transaction the
    // statement and its implicit transaction start at the same instant.
    let in_transaction = match client
        .simple_query("SELECT now() = statement_timestamp()")
        .await
    {
        Ok(messages) => messages.iter().any(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0) == Some("f"),
            _ => false,
        }),
        // 25P02: in a failed transaction, every statement is refused.
        Err(e) => e.code().map(|c| c.code()) == Some("25P02"),
    };
    if in_transaction {
        Stats::bump(&stats.leaked_transactions);
        tracing::error!(
            "a postgres connection was released inside an open transaction; \
             Spin would hand it to the next request (rolled back here)"
        );
        let _ = client.batch_execute("ROLLBACK").await;
    }
}

fn target(config: &tokio_postgres::Config) -> Result<(String, u16), String> {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(_) => return Err("unix sockets are not supported".into()),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    Ok((host, port))
}

fn query_failed(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::QueryFailed(QueryError::DbError(DbError {
            as_text: db.to_string(),
            severity: db.severity().to_string(),
            code: db.code().code().to_string(),
            message: db.message().to_string(),
            detail: db.detail().map(str::to_string),
            extras: Vec::new(),
        })),
        None => Error::QueryFailed(QueryError::Text(error_text(&e))),
    }
}

fn error_text(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

type Param = Box<dyn ToSql + Sync + Send>;

fn to_sql_params(params: Vec<ParameterValue>) -> Result<Vec<Param>, String> {
    params.into_iter().map(to_sql).collect()
}

fn to_sql(p: ParameterValue) -> Result<Param, String> {
    Ok(match p {
        ParameterValue::Boolean(v) => Box::new(v),
        ParameterValue::Int8(v) => Box::new(v),
        ParameterValue::Int16(v) => Box::new(v),
        ParameterValue::Int32(v) => Box::new(v),
        ParameterValue::Int64(v) => Box::new(v),
        ParameterValue::Floating32(v) => Box::new(v),
        ParameterValue::Floating64(v) => Box::new(v),
        ParameterValue::Str(v) => Box::new(v),
        ParameterValue::Binary(v) => Box::new(v),
        ParameterValue::Date((y, m, d)) => Box::new(date(y, m, d)?),
        ParameterValue::Time((h, mi, s, ns)) => Box::new(time(h, mi, s, ns)?),
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => {
            Box::new(NaiveDateTime::new(date(y, mo, d)?, time(h, mi, s, ns)?))
        }
        ParameterValue::Timestamp(secs) => Box::new(
            DateTime::from_timestamp(secs, 0).ok_or_else(|| format!("invalid timestamp {secs}"))?,
        ),
        ParameterValue::Uuid(v) => Box::new(uuid::Uuid::parse_str(&v).map_err(|e| e.to_string())?),
        ParameterValue::Jsonb(v) => {
            Box::new(serde_json::from_slice::<serde_json::Value>(&v).map_err(|e| e.to_string())?)
        }
        ParameterValue::Decimal(v) => {
            Box::new(rust_decimal::Decimal::from_str(&v).map_err(|e| e.to_string())?)
        }
        ParameterValue::ArrayInt32(v) => Box::new(v),
        ParameterValue::ArrayInt64(v) => Box::new(v),
        ParameterValue::ArrayStr(v) => Box::new(v),
        ParameterValue::ArrayDecimal(v) => Box::new(
            v.into_iter()
                .map(|d| d.map(|s| rust_decimal::Decimal::from_str(&s)).transpose())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?,
        ),
        ParameterValue::Interval(i) => Box::new(PgInterval(i.micros, i.days, i.months)),
        ParameterValue::DbNull => Box::new(Null),
        ParameterValue::RangeInt32(_)
        | ParameterValue::RangeInt64(_)
        | ParameterValue::RangeDecimal(_) => {
            return Err("range parameters are not supported by the project host".into())
        }
    })
}

fn date(y: i32, m: u8, d: u8) -> Result<NaiveDate, String> {
    NaiveDate::from_ymd_opt(y, m.into(), d.into())
        .ok_or_else(|| format!("invalid date {y}-{m}-{d}"))
}

fn time(h: u8, m: u8, s: u8, ns: u32) -> Result<NaiveTime, String> {
    NaiveTime::from_hms_nano_opt(h.into(), m.into(), s.into(), ns)
        .ok_or_else(|| format!("invalid time {h}:{m}:{s}.{ns}"))
}

/// `db-null`: binds to any type, as Spin's `PgNull` does.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        Ok(IsNull::Yes)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    postgres_types::to_sql_checked!();
}

#[derive(Debug)]
struct PgInterval(i64, i32, i32);

impl ToSql for PgInterval {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(&self.0.to_be_bytes());
        out.extend_from_slice(&self.1.to_be_bytes());
        out.extend_from_slice(&self.2.to_be_bytes());
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
    postgres_types::to_sql_checked!();
}

impl<'a> FromSql<'a> for PgInterval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        if raw.len() != 16 {
            return Err("invalid interval".into());
        }
        let micros = i64::from_be_bytes(raw[0..8].try_into()?);
        let days = i32::from_be_bytes(raw[8..12].try_into()?);
        let months = i32::from_be_bytes(raw[12..16].try_into()?);
        Ok(PgInterval(micros, days, months))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

/// The raw wire bytes of a type the host does not map (`unsupported`).
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::CHAR => DbDataType::Int8,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DbDataType::Str,
        Type::BYTEA => DbDataType::Binary,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DbDataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => DbDataType::ArrayStr,
        Type::INTERVAL => DbDataType::Interval,
        _ => DbDataType::Other(ty.name().to_string()),
    }
}

fn convert_rows(rows: &[Row]) -> Result<RowSet, Error> {
    // Spin fills the columns from the first row: none when there are no rows.
    let columns = rows
        .first()
        .map(|row| {
            row.columns()
                .iter()
                .map(|c| Column {
                    name: c.name().to_string(),
                    data_type: data_type(c.type_()),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut values = Vec::with_capacity(row.len());
        for (i, column) in row.columns().iter().enumerate() {
            values.push(convert_value(row, i, column.type_()).map_err(|e| {
                Error::QueryFailed(QueryError::Text(format!(
                    "error converting column {:?}: {e}",
                    column.name()
                )))
            })?);
        }
        out.push(values);
    }
    Ok(RowSet { columns, rows: out })
}

fn get<'a, T: FromSql<'a>>(
    row: &'a Row,
    i: usize,
    wrap: impl FnOnce(T) -> DbValue,
) -> Result<DbValue, String> {
    row.try_get::<_, Option<T>>(i)
        .map(|v| v.map(wrap).unwrap_or(DbValue::DbNull))
        .map_err(|e| error_text(&e))
}

fn convert_value(row: &Row, i: usize, ty: &Type) -> Result<DbValue, String> {
    match *ty {
        Type::BOOL => get(row, i, DbValue::Boolean),
        Type::CHAR => get(row, i, DbValue::Int8),
        Type::INT2 => get(row, i, DbValue::Int16),
        Type::INT4 => get(row, i, DbValue::Int32),
        Type::INT8 => get(row, i, DbValue::Int64),
        Type::FLOAT4 => get(row, i, DbValue::Floating32),
        Type::FLOAT8 => get(row, i, DbValue::Floating64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => get(row, i, DbValue::Str),
        Type::BYTEA => get(row, i, DbValue::Binary),
        Type::DATE => get(row, i, |d: NaiveDate| {
            DbValue::Date((d.year(), d.month() as u8, d.day() as u8))
        }),
        Type::TIME => get(row, i, |t: NaiveTime| {
            DbValue::Time((
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
                t.nanosecond(),
            ))
        }),
        // Spin reads both through NaiveDateTime, which refuses `timestamptz`:
        // the whole query fails, as it does on Spin 3.6.3.
        Type::TIMESTAMP | Type::TIMESTAMPTZ => get(row, i, |dt: NaiveDateTime| {
            DbValue::Datetime((
                dt.year(),
                dt.month() as u8,
                dt.day() as u8,
                dt.hour() as u8,
                dt.minute() as u8,
                dt.second() as u8,
                dt.nanosecond(),
            ))
        }),
        Type::UUID => get(row, i, |u: uuid::Uuid| DbValue::Uuid(u.to_string())),
        Type::JSONB => get(row, i, |v: serde_json::Value| {
            DbValue::Jsonb(serde_json::to_vec(&v).unwrap_or_default())
        }),
        Type::NUMERIC => get(row, i, |d: rust_decimal::Decimal| {
            DbValue::Decimal(d.to_string())
        }),
        Type::INT4_ARRAY => get(row, i, DbValue::ArrayInt32),
        Type::INT8_ARRAY => get(row, i, DbValue::ArrayInt64),
        Type::NUMERIC_ARRAY => get(row, i, |v: Vec<Option<rust_decimal::Decimal>>| {
            DbValue::ArrayDecimal(v.into_iter().map(|d| d.map(|d| d.to_string())).collect())
        }),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => {
            get(row, i, DbValue::ArrayStr)
        }
        Type::INTERVAL => get(row, i, |v: PgInterval| {
            DbValue::Interval(Interval {
                micros: v.0,
                days: v.1,
                months: v.2,
            })
        }),
        _ => get(row, i, |r: Raw| DbValue::Unsupported(r.0)),
    }
}
