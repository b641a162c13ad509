//! The catalog's cache entries for products, shared by every writer of a
//! product row: the catalog (admin edits) and the orders service (stock
//! reserved by an order, released by compensation). One format and one
//! write path — newer wins — so that no writer deletes an entry a slow
//! reader could then refill with an older row.

use serde::{Deserialize, Serialize};

use crate::cache::Cache;

/// Bump when the fields below change meaning or shape (an entry written by
/// another release is a miss, never a misread).
pub const VERSION: u32 = 1;

/// Product entries live 10 minutes (the seed's TTL).
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

pub fn key(id: i64) -> String {
    format!("catalog:product:{id}")
}

/// A product row as cached, with its row version.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
}

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

/// A versioned cache entry to write newer-wins.
pub struct Entry {
    pub key: String,
    pub bytes: Vec<u8>,
    pub version: i64,
    pub ttl_secs: i64,
}

impl Entry {
    pub fn product(p: &CachedProduct) -> Option<Entry> {
        Some(Entry {
            key: key(p.id),
            bytes: p.encode()?,
            version: p.version,
            ttl_secs: TTL_SECS,
        })
    }
}

/// Runs [`WRITE_THROUGH_LUA`]; true when Redis did it (and so published).
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
