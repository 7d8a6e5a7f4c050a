//! Opaque, tamper-safe pagination cursors.
//!
//! A cursor names the last item of the previous page (lists are ordered by name / URI, so
//! pages stay consistent while items are added or removed) and is authenticated with
//! HMAC-SHA256 under a per-server key: a client cannot forge or edit one, and a cursor of
//! one list is rejected by another. Invalid cursors are -32602 errors.

use crate::error::McpError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const TAG_LEN: usize = 16;

/// Issues and checks cursors.
#[derive(Clone)]
pub(crate) struct CursorCodec {
    key: [u8; 32],
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec(<key>)")
    }
}

impl CursorCodec {
    pub(crate) fn new(key: [u8; 32]) -> Self {
        CursorCodec { key }
    }

    pub(crate) fn random() -> Self {
        Self::new(rand::random())
    }

    fn mac(&self, list: &str, key: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(list.as_bytes());
        mac.update(&[0]);
        mac.update(key.as_bytes());
        mac
    }

    /// A cursor for the page after `last` of `list`.
    pub(crate) fn encode(&self, list: &str, last: &str) -> String {
        let tag = self.mac(list, last).finalize().into_bytes();
        let mut raw = Vec::with_capacity(TAG_LEN + last.len());
        raw.extend_from_slice(&tag[..TAG_LEN]);
        raw.extend_from_slice(last.as_bytes());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The last key of the previous page.
    pub(crate) fn decode(&self, list: &str, cursor: &str) -> Result<String, McpError> {
        let invalid = || McpError::invalid_params("Invalid cursor");
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        if raw.len() < TAG_LEN {
            return Err(invalid());
        }
        let (tag, key) = raw.split_at(TAG_LEN);
        let key = std::str::from_utf8(key).map_err(|_| invalid())?;
        self.mac(list, key)
            .verify_truncated_left(tag)
            .map_err(|_| invalid())?;
        Ok(key.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let c = CursorCodec::random();
        let cur = c.encode("tools", "search");
        assert_eq!(c.decode("tools", &cur).unwrap(), "search");
        assert_eq!(c.decode("prompts", &cur).unwrap_err().code(), -32602);
        assert_eq!(
            CursorCodec::random()
                .decode("tools", &cur)
                .unwrap_err()
                .code(),
            -32602
        );
        let mut raw = URL_SAFE_NO_PAD.decode(&cur).unwrap();
        *raw.last_mut().unwrap() ^= 1;
        assert!(c.decode("tools", &URL_SAFE_NO_PAD.encode(raw)).is_err());
        assert!(c.decode("tools", "!!!").is_err());
        assert!(c.decode("tools", "").is_err());
    }
}
