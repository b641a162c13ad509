//! Reading a JSON request body, bounded.
//!
//! Spin sets no body limit and the SDK's `Request` buffers everything, so the
//! gateway streams the body itself and stops at `MAX_BODY_BYTES`.

use futures::StreamExt;
use platform_core::{ApiError, ErrorKind};
use spin_sdk::http::IncomingRequest;

use crate::context::header;

pub const MAX_BODY_BYTES: usize = 1024 * 1024;

fn too_large() -> ApiError {
    ApiError::new(
        ErrorKind::PayloadTooLarge,
        format!("Request body exceeds {MAX_BODY_BYTES} bytes"),
    )
}

/// Checks `Content-Type` and reads at most `MAX_BODY_BYTES`.
pub async fn read_json(req: IncomingRequest) -> Result<Vec<u8>, ApiError> {
    let content_type = header(&req, "content-type").unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(
            ErrorKind::UnsupportedMediaType,
            "Content-Type must be application/json",
        ));
    }
    let declared = header(&req, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let mut stream = req.into_body_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::invalid("Could not read the request body"))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
