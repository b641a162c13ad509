//! The tests' Redis: a private server per test (tests/support), and a client.

pub use test_support::RedisServer;

/// A synchronous client of `server`, for looking at what the app cached.
pub fn client(server: &RedisServer) -> redis::Connection {
    redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap()
}
