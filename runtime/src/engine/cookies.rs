//! A small cookie jar shared by every request of a manager, so a session pinned by a
//! cookie (sticky sessions behind a load balancer, engine.io's `cookie` option) stays on
//! the same server across polling requests, the websocket upgrade and reconnections.

use std::sync::Mutex;

use http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};

/// Name/value pairs from the server's `Set-Cookie` headers. Attributes are not tracked:
/// every cookie goes back to the one origin the manager talks to, and one that the server
/// expires (`Max-Age=0` or an empty value) is dropped.
#[derive(Debug, Default)]
pub(crate) struct CookieJar {
    cookies: Mutex<Vec<(String, String)>>,
}

impl CookieJar {
    /// Takes the `Set-Cookie` headers of a response.
    pub(crate) fn store(&self, headers: &HeaderMap) {
        let mut cookies = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        for header in headers.get_all(SET_COOKIE) {
            let Ok(header) = header.to_str() else {
                continue;
            };
            let mut parts = header.split(';');
            let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            let expired = value.is_empty()
                || parts.any(|attr| {
                    let attr = attr.trim().to_ascii_lowercase();
                    attr.strip_prefix("max-age=")
                        .is_some_and(|age| age.trim().starts_with('-') || age.trim() == "0")
                });
            cookies.retain(|(n, _)| n != name);
            if !expired {
                cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    /// The `Cookie` header for a request, if any cookie is held.
    pub(crate) fn header(&self) -> Option<HeaderValue> {
        let cookies = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        if cookies.is_empty() {
            return None;
        }
        let joined = cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::from_str(&joined).ok()
    }

    /// Adds the `Cookie` header to a request's headers.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        if let Some(value) = self.header() {
            headers.insert(COOKIE, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_replaces_and_expires_cookies() {
        let jar = CookieJar::default();
        let mut headers = HeaderMap::new();
        headers.append(
            SET_COOKIE,
            HeaderValue::from_static("io=abc; Path=/; HttpOnly"),
        );
        headers.append(SET_COOKIE, HeaderValue::from_static("lb=node-1"));
        jar.store(&headers);
        assert_eq!(
            jar.header().as_ref().and_then(|h| h.to_str().ok()),
            Some("io=abc; lb=node-1")
        );
        let mut headers = HeaderMap::new();
        headers.append(SET_COOKIE, HeaderValue::from_static("io=def"));
        headers.append(SET_COOKIE, HeaderValue::from_static("lb=; Max-Age=0"));
        jar.store(&headers);
        assert_eq!(
            jar.header().as_ref().and_then(|h| h.to_str().ok()),
            Some("io=def")
        );
    }
}
