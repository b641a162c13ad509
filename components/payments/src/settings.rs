//! The settings the payments service reads (Spin variables), each only by
//! the operation that needs it: the Snap URL and the storefront's on an
//! initiate, the status API's on a notification.

use platform_core::setting::{Int, Secret, Text};

pub use platform_core::setting::{DATABASE_URL, REDIS_URL};

/// Midtrans's server key (Basic auth, notification signatures); payments
/// refuse to run while it is empty.
pub const MIDTRANS_SERVER_KEY: Secret = Secret {
    name: "midtrans_server_key",
};

/// Snap's base URL (create-transaction).
pub const MIDTRANS_SNAP_BASE_URL: Text = Text {
    name: "midtrans_snap_base_url",
};

/// The Core API's base URL (status checks).
pub const MIDTRANS_API_BASE_URL: Text = Text {
    name: "midtrans_api_base_url",
};

/// The storefront's public URL: Snap sends the payer back to its order page;
/// empty for an API-only deployment.
pub const STOREFRONT_URL: Text = Text {
    name: "storefront_url",
};

/// How long an order whose payment was never started keeps its stock
/// (30 min); a started payment keeps it for its Snap window.
pub const ORDER_UNPAID_TTL_SECS: Int = Int {
    name: "order_unpaid_ttl_secs",
    default: 1800,
    min: 1,
    max: 7 * 24 * 3600,
};
