//! Reading a JSON request body, bounded.
//!
//! Spin sets no body limit and the SDK's `Request` buffers everything, so the
//! edge streams the body itself and stops at `MAX_BODY_BYTES`.

use futures::StreamExt;
use platform_core::ServiceError;
use spin_sdk::http::IncomingRequest;

use crate::context::header;
use crate::error::HttpError;

pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const TOO_LARGE: HttpError = HttpError::PayloadTooLarge {
    limit: MAX_BODY_BYTES,
};

/// Checks `Content-Type` and reads at most `MAX_BODY_BYTES`.
pub async fn read_json(req: IncomingRequest) -> Result<Vec<u8>, HttpError> {
    let content_type = header(&req, "content-type").unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(HttpError::UnsupportedMediaType);
    }
    let declared = header(&req, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(TOO_LARGE);
    }
    let mut stream = req.into_body_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ServiceError::invalid("Could not read the request body"))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(TOO_LARGE);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
