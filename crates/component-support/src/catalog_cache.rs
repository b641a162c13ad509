//! The catalog's cache in one place: its Redis keys, its entry formats, its
//! scripts, and the decoding of product rows into entries. The catalog reads
//! and writes it; the orders service writes product entries too (stock
//! reserved by an order, released by compensation), so both use this module
//! and nothing else spells a catalog key or format.
//!
//! - A product is `catalog:product:{id}`: a [`CachedProduct`] written through
//!   by writers (newer wins, [`write_through`]) and filled by readers only
//!   when absent (`SET NX`); a deleted product leaves a [`TOMBSTONE`]. A
//!   reader holding a row read before a write can never overwrite the newer
//!   value.
//! - Lists are keyed by a version number that every write bumps
//!   ([`LIST_VERSION`]): invalidating every cached page is one `INCR`, never
//!   a `KEYS`/`SCAN`, and a reader that raced a write can only fill a key of
//!   the old version, which nobody reads. The total has its own version
//!   ([`LIST_COUNT_VERSION`]), bumped only when the set of products changes.
//! - Entries carry a format version ([`VERSION`]): during a rolling deploy an
//!   entry of another version is a miss, never a misread. The keys and the
//!   JSON here are what earlier releases wrote and read; change them only
//!   with a new version (or new key names).

use platform_core::page::Page;
use platform_core::rate_limit::{Bucket, Decision};
use platform_core::ServiceError;
use serde::{Deserialize, Serialize};
use spin_sdk::pg4::RowSet;
use spin_sdk::redis::RedisResult;

use crate::cache::Cache;
use crate::db::{self, Row};

// ---------------------------------------------------------------- keys

/// Bump when the fields of an entry or a page change meaning or shape.
pub const VERSION: u32 = 1;

/// Product entries, pages and totals live 10 minutes (the seed's TTL).
pub const TTL_SECS: i64 = 600;

/// What a deleted product's key holds until it expires.
pub const TOMBSTONE: &[u8] = b"deleted";

/// Bumped by every write that changes what a list page shows.
pub const LIST_VERSION: &str = "catalog:list-version";

/// Bumped only by writes that change which products are listed (create,
/// delete): the version of the cached total. Stock and price changes (every
/// order) leave it, so a page they invalidate is refilled by a plain
/// `LIMIT/OFFSET` read instead of counting every live product again.
pub const LIST_COUNT_VERSION: &str = "catalog:list-count-version";

/// A list page's key is `LIST_PREFIX` + list version + [`page_suffix`] (the
/// list script joins them, see [`list_page_key`]).
pub const LIST_PREFIX: &str = "catalog:list:v";

/// A total's key is this prefix + list count version. (A new name:
/// `catalog:list-total:v` held totals by page version, and an older release
/// may still read those.)
pub const LIST_TOTAL_PREFIX: &str = "catalog:list-count:v";

pub fn product_key(id: i64) -> String {
    format!("catalog:product:{id}")
}

pub fn page_suffix(page: u32, page_size: u32) -> String {
    format!(":{page}:{page_size}")
}

/// The key of a page as of list version `version`.
pub fn list_page_key(version: &str, page: u32, page_size: u32) -> String {
    format!("{LIST_PREFIX}{version}{}", page_suffix(page, page_size))
}

/// The number of live products as of a list *count* version: lets a page
/// past the end answer without a query, and a page refill read its rows
/// without counting them all.
pub fn list_total_key(count_version: &str) -> String {
    format!("{LIST_TOTAL_PREFIX}{count_version}")
}

/// The per-address token bucket of anonymous list reads.
pub fn list_bucket(address: &str) -> String {
    format!("ratelimit:list:{address}")
}

// ------------------------------------------------------- product entry

/// A product row as cached, with its row version. It is also what the
/// product rows of every query decode to ([`CachedProduct::from_rows`]), so
/// a row and its entry cannot disagree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedProduct {
    pub v: u32,
    /// The row version: a write-through keeps the highest.
    pub version: i64,
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price: i64,
    pub stock: i32,
    pub created_at: String,
    pub updated_at: String,
}

impl CachedProduct {
    pub fn encode(&self) -> Option<Vec<u8>> {
        serde_json::to_vec(self).ok()
    }

    /// Another version or shape is a miss.
    pub fn decode(bytes: &[u8]) -> Option<CachedProduct> {
        serde_json::from_slice::<CachedProduct>(bytes)
            .ok()
            .filter(|c| c.v == VERSION)
    }

    /// Every row of `rs` as a product, its columns found by name (see
    /// [`ProductColumns`]); no rows, no lookup.
    pub fn from_rows(rs: &RowSet) -> Result<Vec<CachedProduct>, ServiceError> {
        if rs.rows.is_empty() {
            return Ok(Vec::new());
        }
        let columns = ProductColumns::find(rs)?;
        rs.rows.iter().map(|row| columns.decode(row)).collect()
    }
}

/// Where a product's columns sit in a result set, found once by name. The
/// names are those of the functions of V8/V9 (`create_order`,
/// `consume_payment_updated`): `product_id`, `name`, `description`, `price`,
/// `stock`, `created_at`, `updated_at`, `version`; the catalog's own queries
/// select `id AS product_id`. Other columns may come in any order.
pub struct ProductColumns {
    id: usize,
    name: usize,
    description: usize,
    price: usize,
    stock: usize,
    created_at: usize,
    updated_at: usize,
    version: usize,
}

impl ProductColumns {
    /// A missing column is `ServiceError::Internal` (the query and this
    /// reader disagree), never a panic.
    pub fn find(rs: &RowSet) -> Result<ProductColumns, ServiceError> {
        Ok(ProductColumns {
            id: db::column(rs, "product_id")?,
            name: db::column(rs, "name")?,
            description: db::column(rs, "description")?,
            price: db::column(rs, "price")?,
            stock: db::column(rs, "stock")?,
            created_at: db::column(rs, "created_at")?,
            updated_at: db::column(rs, "updated_at")?,
            version: db::column(rs, "version")?,
        })
    }

    pub fn decode(&self, row: &Row) -> Result<CachedProduct, ServiceError> {
        Ok(CachedProduct {
            v: VERSION,
            version: db::int64(row, self.version)?,
            id: db::int64(row, self.id)?,
            name: db::text(row, self.name)?,
            description: db::text(row, self.description)?,
            price: db::int64(row, self.price)?,
            stock: db::int32(row, self.stock)?,
            created_at: db::timestamp(row, self.created_at)?,
            updated_at: db::timestamp(row, self.updated_at)?,
        })
    }
}

// ----------------------------------------------------------- list pages

/// A cached page as written (borrowing the products).
#[derive(Serialize)]
struct PageOut<'a> {
    v: u32,
    products: &'a [CachedProduct],
    total: u64,
}

/// A cached page as read.
#[derive(Deserialize)]
struct PageIn {
    v: u32,
    products: Vec<CachedProduct>,
    total: u64,
}

/// Encodes a page of products and the total it was read with.
pub fn encode_page(products: &[CachedProduct], total: u64) -> Option<Vec<u8>> {
    serde_json::to_vec(&PageOut {
        v: VERSION,
        products,
        total,
    })
    .ok()
}

/// Decodes a page; another version (of the page or of any product in it)
/// or shape is a miss.
pub fn decode_page(bytes: &[u8]) -> Option<(Vec<CachedProduct>, u64)> {
    let page = serde_json::from_slice::<PageIn>(bytes)
        .ok()
        .filter(|p| p.v == VERSION)?;
    if page.products.iter().any(|p| p.v != VERSION) {
        return None;
    }
    Some((page.products, page.total))
}

// ------------------------------------------------------------ list read

/// A list read in one round trip: when a bucket is given (KEYS[3]), a token
/// from it first; then the list version, the page entry, the count version
/// and the total. KEYS = list version key, count version key, then the
/// bucket key or nothing; ARGV = page key prefix, page key suffix, total key
/// prefix, then the bucket's capacity and refill per second (only with a
/// bucket). Returns the bucket's `{allowed, tokens left, wait ms}` (only
/// with a bucket; alone when refused), then {version, entry or '', total or
/// '', count version}. (The page and total keys depend on the versions read
/// here, so the script names them itself: fine on one Redis, not on Redis
/// Cluster.)
pub const LIST_READ_LUA: &str = concat!(
    platform_core::token_bucket_lua_fn!(),
    r#"
local out = {}
if #KEYS >= 3 then
  local allowed, left, wait_ms = take_token(KEYS[3], tonumber(ARGV[4]), tonumber(ARGV[5]))
  out = {allowed, left, wait_ms}
  if allowed == 0 then return out end
end
local v = redis.call('GET', KEYS[1]) or '0'
out[#out + 1] = v
out[#out + 1] = redis.call('GET', ARGV[1] .. v .. ARGV[2]) or ''
local cv = redis.call('GET', KEYS[2]) or '0'
out[#out + 1] = redis.call('GET', ARGV[3] .. cv) or ''
out[#out + 1] = cv
return out
"#
);

/// What [`read_list`] found; everything absent when Redis could not answer.
#[derive(Debug, PartialEq)]
pub struct ListRead {
    /// The list version (`"0"` before any write): the key of a page refill.
    pub version: String,
    /// The cached page of this version and its total, if any (and of this
    /// format).
    pub page: Option<(Vec<CachedProduct>, u64)>,
    /// The cached total of the count version, if any.
    pub total: Option<u64>,
    /// The count version: the key of a total refill.
    pub count_version: String,
}

impl ListRead {
    fn uncached() -> ListRead {
        ListRead {
            version: "0".to_string(),
            page: None,
            total: None,
            count_version: "0".to_string(),
        }
    }

    /// The key a refill of `page` writes.
    pub fn page_key(&self, page: &Page) -> String {
        list_page_key(&self.version, page.page, page.page_size)
    }

    /// The key a refill of the total writes.
    pub fn total_key(&self) -> String {
        list_total_key(&self.count_version)
    }
}

/// Takes a token from `bucket` (if any) and reads the list's cache entries
/// for `page`, in one `EVALSHA`. A refusal is `ServiceError::RateLimited`
/// with the bucket's numbers; Redis being away reads as an empty cache (the
/// limiter must not take the catalog down).
pub fn read_list(
    cache: &mut Cache,
    page: &Page,
    bucket: Option<&Bucket>,
) -> Result<ListRead, ServiceError> {
    let suffix = page_suffix(page.page, page.page_size);
    let mut keys = vec![LIST_VERSION, LIST_COUNT_VERSION];
    let mut args: Vec<&[u8]> = vec![
        LIST_PREFIX.as_bytes(),
        suffix.as_bytes(),
        LIST_TOTAL_PREFIX.as_bytes(),
    ];
    let numbers = bucket.map(|b| b.config.script_args());
    if let (Some(bucket), Some([capacity, refill])) = (bucket, &numbers) {
        keys.push(&bucket.key);
        args.extend([capacity.as_bytes(), refill.as_bytes()]);
    }
    let reply = cache.eval_values(LIST_READ_LUA, &keys, &args);
    list_reply(reply.as_deref(), bucket)
}

/// [`LIST_READ_LUA`]'s reply as a read or the bucket's refusal. A reply of
/// another shape is logged and read as an empty cache.
fn list_reply(
    reply: Option<&[RedisResult]>,
    bucket: Option<&Bucket>,
) -> Result<ListRead, ServiceError> {
    let Some(reply) = reply else {
        return Ok(ListRead::uncached());
    };
    let read = match bucket {
        None => Some(reply),
        Some(bucket) => {
            let (taken, read) = reply.split_at(reply.len().min(3));
            let numbers: Option<Vec<i64>> = taken
                .iter()
                .map(|r| match r {
                    RedisResult::Int64(n) => Some(*n),
                    _ => None,
                })
                .collect();
            match numbers.as_deref().and_then(Decision::from_reply) {
                Some(d) if !d.allowed => {
                    return Err(ServiceError::RateLimited(
                        d.refusal(bucket.policy, bucket.config),
                    ))
                }
                Some(_) => Some(read),
                None => None,
            }
        }
    };
    match read {
        Some([version, entry, total, count_version]) => Ok(ListRead {
            version: version_text(version),
            page: bytes(entry).and_then(|b| decode_page(&b)),
            total: bytes(total)
                .and_then(|t| String::from_utf8(t).ok())
                .and_then(|t| t.parse().ok()),
            count_version: version_text(count_version),
        }),
        _ => {
            crate::log::warn(
                "catalog list script gave an unexpected reply, reading uncached",
                &format!("{reply:?}"),
            );
            Ok(ListRead::uncached())
        }
    }
}

/// A non-empty string reply.
fn bytes(value: &RedisResult) -> Option<Vec<u8>> {
    match value {
        RedisResult::Binary(b) if !b.is_empty() => Some(b.clone()),
        _ => None,
    }
}

fn version_text(value: &RedisResult) -> String {
    bytes(value)
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_else(|| "0".to_string())
}

// -------------------------------------------------------- write-through

/// Everything a committed write tells the cache, in one round trip: bump
/// list versions (KEYS[1..n], each kept a day so a version never goes back
/// while pages of it live), write versioned entries newer-wins (the other
/// KEYS), then publish the event. Newer wins: an entry is replaced only by a
/// higher row version (a racing writer that committed later keeps its
/// entry), and a deleted product's tombstone never. ARGV = n, channel or '',
/// message, tombstone, then (entry, version, ttl) per entry key.
pub const WRITE_THROUGH_LUA: &str = r#"
local n = tonumber(ARGV[1])
for i = 1, n do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], 86400)
end
for i = n + 1, #KEYS do
  local at = 5 + (i - n - 1) * 3
  local current = redis.call('GET', KEYS[i])
  local newer = true
  if current then
    if current == ARGV[4] then newer = false else
      local ok, entry = pcall(cjson.decode, current)
      if ok and type(entry) == 'table' and tonumber(entry.version)
         and tonumber(entry.version) >= tonumber(ARGV[at + 1]) then
        newer = false
      end
    end
  end
  if newer then redis.call('SET', KEYS[i], ARGV[at], 'EX', ARGV[at + 2]) end
end
if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 1
"#;

/// A versioned cache entry to write newer-wins: a product's
/// ([`Entry::product`]) or any other JSON entry with a top-level `version`
/// field (the orders service writes its order entries this way).
pub struct Entry {
    pub key: String,
    pub bytes: Vec<u8>,
    pub version: i64,
    pub ttl_secs: i64,
}

impl Entry {
    pub fn product(p: &CachedProduct) -> Option<Entry> {
        Some(Entry {
            key: product_key(p.id),
            bytes: p.encode()?,
            version: p.version,
            ttl_secs: TTL_SECS,
        })
    }
}

/// Runs [`WRITE_THROUGH_LUA`]: bumps `bump`, writes `entries` newer-wins,
/// publishes `publish` (channel, message); true when Redis did it (and so
/// published). Generic over its keys: the catalog writes product entries and
/// list versions with it, the orders service product entries, its own order
/// entries and its own list versions — one round trip after each commit.
pub fn write_through(
    cache: &mut Cache,
    bump: &[&str],
    entries: &[Entry],
    publish: Option<(&str, &str)>,
) -> bool {
    let mut keys: Vec<&str> = bump.to_vec();
    keys.extend(entries.iter().map(|e| e.key.as_str()));
    let (channel, message) = publish.unwrap_or(("", ""));
    let numbers: Vec<(String, String)> = entries
        .iter()
        .map(|e| (e.version.to_string(), e.ttl_secs.to_string()))
        .collect();
    let count = bump.len().to_string();
    let mut args: Vec<&[u8]> = vec![
        count.as_bytes(),
        channel.as_bytes(),
        message.as_bytes(),
        TOMBSTONE,
    ];
    for (e, (version, ttl)) in entries.iter().zip(&numbers) {
        args.extend([e.bytes.as_slice(), version.as_bytes(), ttl.as_bytes()]);
    }
    cache.eval_values(WRITE_THROUGH_LUA, &keys, &args).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_core::rate_limit::BucketConfig;
    use platform_core::RateLimit;
    use spin_sdk::pg4::{Column, DbDataType, DbValue};

    fn product(id: i64, version: i64) -> CachedProduct {
        CachedProduct {
            v: VERSION,
            version,
            id,
            name: "Tea".into(),
            description: "Green".into(),
            price: 1200,
            stock: 3,
            created_at: "2025-01-02T03:04:05.000000Z".into(),
            updated_at: "2025-01-02T03:04:06.000000Z".into(),
        }
    }

    /// The keys every release and the tests outside spell the same way.
    #[test]
    fn keys_are_those_of_earlier_releases() {
        assert_eq!(product_key(7), "catalog:product:7");
        assert_eq!(TOMBSTONE, b"deleted");
        assert_eq!(LIST_VERSION, "catalog:list-version");
        assert_eq!(LIST_COUNT_VERSION, "catalog:list-count-version");
        assert_eq!(list_page_key("12", 3, 15), "catalog:list:v12:3:15");
        assert_eq!(
            format!("{LIST_PREFIX}12{}", page_suffix(3, 15)),
            list_page_key("12", 3, 15)
        );
        assert_eq!(list_total_key("4"), "catalog:list-count:v4");
        assert_eq!(format!("{LIST_TOTAL_PREFIX}4"), list_total_key("4"));
        assert_eq!(list_bucket("10.0.0.1"), "ratelimit:list:10.0.0.1");
    }

    #[test]
    fn a_product_entry_is_the_same_json_and_round_trips() {
        let p = product(7, 2);
        let bytes = p.encode().unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"v":1,"version":2,"id":7,"name":"Tea","description":"Green","price":1200,"stock":3,"created_at":"2025-01-02T03:04:05.000000Z","updated_at":"2025-01-02T03:04:06.000000Z"}"#
        );
        assert_eq!(CachedProduct::decode(&bytes), Some(p));
        assert_eq!(
            Entry::product(&product(7, 2)).unwrap().key,
            "catalog:product:7"
        );
    }

    #[test]
    fn another_entry_version_or_shape_is_a_miss() {
        let other = CachedProduct {
            v: VERSION + 1,
            ..product(7, 2)
        };
        assert_eq!(CachedProduct::decode(&other.encode().unwrap()), None);
        assert_eq!(CachedProduct::decode(TOMBSTONE), None);
        assert_eq!(CachedProduct::decode(br#"{"v":1,"id":7}"#), None);
    }

    #[test]
    fn a_page_is_the_same_json_and_round_trips() {
        let products = vec![product(8, 1), product(7, 2)];
        let bytes = encode_page(&products, 40).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(r#"{"v":1,"products":[{"v":1,"version":1,"id":8,"#));
        assert!(text.ends_with(r#"}],"total":40}"#));
        assert_eq!(decode_page(&bytes), Some((products, 40)));
        assert_eq!(
            decode_page(br#"{"v":1,"products":[],"total":0}"#),
            Some((Vec::new(), 0))
        );
    }

    #[test]
    fn a_page_of_another_version_is_a_miss() {
        let page = br#"{"v":2,"products":[],"total":3}"#;
        assert_eq!(decode_page(page), None);
        let stale = CachedProduct {
            v: 0,
            ..product(7, 2)
        };
        let bytes = encode_page(&[product(8, 1), stale], 2).unwrap();
        assert_eq!(decode_page(&bytes), None, "a product of another version");
        assert_eq!(decode_page(b"not json"), None);
    }

    fn column(name: &str, data_type: DbDataType) -> Column {
        Column {
            name: name.to_string(),
            data_type,
        }
    }

    fn datetime(second: u8) -> DbValue {
        DbValue::Datetime((2025, 1, 2, 3, 4, second, 0))
    }

    #[test]
    fn product_rows_are_read_by_column_name() {
        // The shape of create_order's rows: other columns around, another order.
        let rs = RowSet {
            columns: vec![
                column("outcome", DbDataType::Str),
                column("order_id", DbDataType::Int64),
                column("product_id", DbDataType::Int64),
                column("stock", DbDataType::Int32),
                column("version", DbDataType::Int64),
                column("event", DbDataType::Str),
                column("name", DbDataType::Str),
                column("description", DbDataType::Str),
                column("price", DbDataType::Int64),
                column("created_at", DbDataType::Timestamp),
                column("updated_at", DbDataType::Timestamp),
            ],
            rows: vec![vec![
                DbValue::Str("created".into()),
                DbValue::Int64(99),
                DbValue::Int64(7),
                DbValue::Int32(3),
                DbValue::Int64(2),
                DbValue::Str("{}".into()),
                DbValue::Str("Tea".into()),
                DbValue::Str("Green".into()),
                DbValue::Int64(1200),
                datetime(5),
                datetime(6),
            ]],
        };
        assert_eq!(CachedProduct::from_rows(&rs), Ok(vec![product(7, 2)]));
    }

    #[test]
    fn a_missing_product_column_is_internal() {
        let rs = RowSet {
            columns: vec![column("id", DbDataType::Int64)],
            rows: vec![vec![DbValue::Int64(7)]],
        };
        assert!(matches!(
            CachedProduct::from_rows(&rs),
            Err(ServiceError::Internal(_))
        ));
        let empty = RowSet {
            columns: Vec::new(),
            rows: Vec::new(),
        };
        assert_eq!(CachedProduct::from_rows(&empty), Ok(Vec::new()));
    }

    fn bucket() -> Bucket {
        Bucket {
            policy: "product-list",
            key: list_bucket("10.0.0.1"),
            config: BucketConfig {
                capacity: 2,
                refill_per_sec: 1.0,
            },
        }
    }

    fn bin(s: &str) -> RedisResult {
        RedisResult::Binary(s.as_bytes().to_vec())
    }

    #[test]
    fn a_list_read_without_a_bucket() {
        let page = encode_page(&[product(7, 2)], 1).unwrap();
        let reply = [bin("5"), RedisResult::Binary(page), bin("1"), bin("2")];
        assert_eq!(
            list_reply(Some(&reply), None),
            Ok(ListRead {
                version: "5".into(),
                page: Some((vec![product(7, 2)], 1)),
                total: Some(1),
                count_version: "2".into(),
            })
        );
        let empty = [bin("0"), bin(""), bin(""), bin("0")];
        let read = list_reply(Some(&empty), None).unwrap();
        assert_eq!((&read.page, read.total), (&None, None));
        assert_eq!(
            read.page_key(&Page::new(2, 10).unwrap()),
            "catalog:list:v0:2:10"
        );
        assert_eq!(read.total_key(), "catalog:list-count:v0");
    }

    #[test]
    fn a_list_read_admitted_by_its_bucket() {
        let reply = [
            RedisResult::Int64(1),
            RedisResult::Int64(1),
            RedisResult::Int64(0),
            bin("5"),
            bin(""),
            bin("9"),
            bin("3"),
        ];
        let read = list_reply(Some(&reply), Some(&bucket())).unwrap();
        assert_eq!((read.version.as_str(), read.total), ("5", Some(9)));
        assert_eq!(read.count_version, "3");
    }

    #[test]
    fn a_list_read_refused_by_its_bucket() {
        let reply = [
            RedisResult::Int64(0),
            RedisResult::Int64(0),
            RedisResult::Int64(1500),
        ];
        assert_eq!(
            list_reply(Some(&reply), Some(&bucket())),
            Err(ServiceError::RateLimited(RateLimit {
                policy: "product-list".into(),
                capacity: 2,
                window_secs: 2,
                retry_after_secs: 2,
            }))
        );
    }

    #[test]
    fn no_reply_or_another_shape_reads_uncached() {
        assert_eq!(list_reply(None, Some(&bucket())), Ok(ListRead::uncached()));
        assert_eq!(
            list_reply(Some(&[RedisResult::Int64(1)]), None),
            Ok(ListRead::uncached())
        );
        assert_eq!(
            list_reply(
                Some(&[bin("5"), bin(""), bin(""), bin("0")]),
                Some(&bucket())
            ),
            Ok(ListRead::uncached()),
            "a bucket was asked for but no decision came"
        );
    }

    #[test]
    fn the_list_script_takes_a_token_only_with_a_bucket() {
        assert!(LIST_READ_LUA.contains("local function take_token"));
        assert!(LIST_READ_LUA.contains("if #KEYS >= 3 then"));
    }
}
