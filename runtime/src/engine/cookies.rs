//! A small cookie jar shared by every request of a manager, so a session pinned by a
//! cookie (sticky sessions behind a load balancer, engine.io's `cookie` option) stays on
//! the same server across polling requests, the websocket upgrade and reconnections.
//!
//! What it does, following the storage model of RFC 6265 §5.3 for the parts that matter to a
//! client talking to one origin:
//!
//! - **Merging with the user's header.** A `Cookie` header the application set itself (with
//!   `ManagerBuilder::extra_header`) is kept, and the jar's cookies are added after it, except
//!   those whose name the application already sends: the application wins on a name, so it
//!   can pin a cookie the server would change. (Node's socket.io client, with
//!   `extraHeaders.cookie` and `withCredentials`, also sends both on its websocket handshake
//!   and its fetch transport, though with a duplicate when a name is in both.)
//! - **Expiry.** `Max-Age` (seconds; 0 or negative deletes the cookie) and `Expires` (a date,
//!   read with the lenient algorithm of RFC 6265 §5.1.1, which covers the IMF-fixdate of
//!   RFC 9110 and its two obsolete forms, RFC 850 and asctime) are honoured; when both are
//!   given, `Max-Age` wins. An expired cookie is never sent and is dropped from the jar;
//!   setting one already expired is how a server deletes a cookie (Express's `clearCookie`
//!   sends `name=; Expires=Thu, 01 Jan 1970 ...`), while an empty value alone (`name=`) is a
//!   cookie like any other. Malformed values of either attribute are ignored, as if the
//!   attribute were absent.
//! - **Bounds.** At most [`MAX_COOKIES`] cookies are kept; when a new name arrives with the jar
//!   full, expired cookies go first, then the cookie created first (replacing a cookie's value
//!   keeps its creation time and its place in the header, RFC 6265 §5.3 step 11.3). A cookie
//!   whose name and value are longer than [`MAX_COOKIE_SIZE`] bytes together is ignored. These
//!   are the minimums RFC 6265 §6.1 asks every user agent to support (browsers keep more
//!   cookies per site, none a longer one), so a server that stays within what any browser
//!   must accept works here, while no server can grow the header of every request without
//!   bound: at worst 50 cookies of 4 KiB.
//!
//! Other attributes (`Domain`, `Path`, `Secure`, `HttpOnly`, `SameSite`) are not tracked: every
//! cookie goes back to the one origin, under the one engine path, that the manager talks to.
//!
//! - **Off switch.** `ManagerBuilder::with_credentials(false)` (socket.io: `withCredentials`)
//!   builds a jar that neither stores nor sends anything: the server's `Set-Cookie` headers
//!   are ignored, and the application's own `Cookie` header, if any, goes out untouched.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};

/// How many cookies the jar keeps at most (RFC 6265 §6.1: at least 50 per domain).
const MAX_COOKIES: usize = 50;
/// The longest a cookie's name and value may be together, in bytes (RFC 6265 §6.1: at least
/// 4096 bytes per cookie; browsers count the name and the value).
const MAX_COOKIE_SIZE: usize = 4096;

/// One stored cookie.
#[derive(Debug)]
struct Cookie {
    name: String,
    value: String,
    /// When it expires, in seconds since the Unix epoch; `None` for a session cookie, which
    /// lives as long as the manager.
    expires: Option<i64>,
}

impl Cookie {
    fn expired(&self, now: i64) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }
}

/// The cookies the server set, oldest (first created) first.
#[derive(Debug)]
pub(crate) struct CookieJar {
    cookies: Mutex<Vec<Cookie>>,
    /// Whether the jar stores and sends cookies at all (socket.io: `withCredentials`).
    enabled: bool,
}

impl Default for CookieJar {
    /// An enabled, empty jar.
    fn default() -> Self {
        CookieJar::new(true)
    }
}

impl CookieJar {
    /// An empty jar; a disabled one (`enabled == false`) never stores nor sends a cookie.
    pub(crate) fn new(enabled: bool) -> Self {
        CookieJar {
            cookies: Mutex::new(Vec::new()),
            enabled,
        }
    }

    /// Takes the `Set-Cookie` headers of a response. Headers that cannot be read as a cookie
    /// are ignored, whatever their bytes; so are all of them when the jar is disabled.
    pub(crate) fn store(&self, headers: &HeaderMap) {
        self.store_at(headers, unix_now());
    }

    /// Adds the jar's cookies to a request's headers, after the `Cookie` header already in
    /// `headers` (the application's, from the extra headers), which wins on a name. The result
    /// is one `Cookie` header (RFC 6265 §5.4: a user agent sends at most one). A disabled jar
    /// leaves the headers as they are.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        self.apply_at(headers, unix_now());
    }

    fn store_at(&self, headers: &HeaderMap, now: i64) {
        if !self.enabled {
            return;
        }
        let mut cookies = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        for header in headers.get_all(SET_COOKIE) {
            let Some(set) = parse_set_cookie(header.as_bytes(), now) else {
                continue;
            };
            let existing = cookies.iter().position(|c| c.name == set.name);
            if set.expired(now) {
                // A server deletes a cookie by setting it already expired.
                if let Some(i) = existing {
                    cookies.remove(i);
                }
                continue;
            }
            if let Some(i) = existing {
                // Replaced in place: the cookie keeps its creation time (and its position).
                cookies[i] = set;
                continue;
            }
            if cookies.len() >= MAX_COOKIES {
                cookies.retain(|c| !c.expired(now));
            }
            if cookies.len() >= MAX_COOKIES {
                cookies.remove(0);
            }
            cookies.push(set);
        }
    }

    fn apply_at(&self, headers: &mut HeaderMap, now: i64) {
        if !self.enabled {
            return;
        }
        let mut cookies = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        cookies.retain(|c| !c.expired(now));
        if cookies.is_empty() {
            return;
        }
        // The application's cookies, as it wrote them (several headers are joined).
        let mut joined: Vec<u8> = Vec::new();
        for value in headers.get_all(COOKIE) {
            let value = trim(value.as_bytes());
            if value.is_empty() {
                continue;
            }
            if !joined.is_empty() {
                joined.extend_from_slice(b"; ");
            }
            joined.extend_from_slice(value);
        }
        let user_names: Vec<&[u8]> = joined
            .split(|&b| b == b';')
            .map(|pair| trim(pair.split(|&b| b == b'=').next().unwrap_or_default()))
            .filter(|name| !name.is_empty())
            .collect();
        let mut out = joined.clone();
        for c in cookies.iter() {
            if user_names.contains(&c.name.as_bytes()) {
                continue;
            }
            if !out.is_empty() {
                out.extend_from_slice(b"; ");
            }
            out.extend_from_slice(c.name.as_bytes());
            out.push(b'=');
            out.extend_from_slice(c.value.as_bytes());
        }
        if out == joined {
            // Nothing of the jar's to add: the application's headers stay as they were.
            return;
        }
        // Both parts came from header values and `; ` is allowed, so this cannot fail; if it
        // did, the request would go without the jar's cookies rather than without the user's.
        if let Ok(value) = HeaderValue::from_bytes(&out) {
            headers.insert(COOKIE, value);
        }
    }
}

/// Seconds since the Unix epoch, now (0 if the clock is before 1970).
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Strips the whitespace RFC 6265 §5.2 strips (spaces and tabs).
fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Reads one `Set-Cookie` header (RFC 6265 §5.2), `None` if it sets no cookie: no `=` in its
/// name-value pair, an empty name, bytes that are not UTF-8, or a name and value longer than
/// [`MAX_COOKIE_SIZE`] together.
fn parse_set_cookie(header: &[u8], now: i64) -> Option<Cookie> {
    let header = std::str::from_utf8(header).ok()?;
    let mut parts = header.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let (name, value) = (trim_str(name), trim_str(value));
    if name.is_empty() || name.len() + value.len() > MAX_COOKIE_SIZE {
        return None;
    }
    // The last valid occurrence of each attribute counts (RFC 6265 §5.3 step 3).
    let (mut max_age, mut expires) = (None, None);
    for attr in parts {
        let (key, val) = attr.split_once('=').unwrap_or((attr, ""));
        let (key, val) = (trim_str(key), trim_str(val));
        if key.eq_ignore_ascii_case("max-age") {
            if let Some(delta) = parse_max_age(val) {
                max_age = Some(delta);
            }
        } else if key.eq_ignore_ascii_case("expires") {
            if let Some(at) = parse_cookie_date(val) {
                expires = Some(at);
            }
        }
    }
    let expires = match (max_age, expires) {
        // Max-Age wins over Expires (RFC 6265 §5.3 step 3); 0 or less means already expired.
        (Some(delta), _) if delta <= 0 => Some(i64::MIN),
        (Some(delta), _) => Some(now.saturating_add(delta)),
        (None, at) => at,
    };
    Some(Cookie {
        name: name.to_owned(),
        value: value.to_owned(),
        expires,
    })
}

fn trim_str(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// A `Max-Age` value (RFC 6265 §5.2.2): an optional `-` then digits, else `None` (the
/// attribute is ignored). A number too large for an `i64` saturates.
fn parse_max_age(value: &str) -> Option<i64> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX);
    Some(if negative { -magnitude } else { magnitude })
}

/// A cookie date (RFC 6265 §5.1.1), in seconds since the Unix epoch (UTC), or `None` if it is
/// not one. The algorithm picks a time, a day of the month, a month and a year out of the
/// tokens between delimiters, in whatever order they come, so it reads the IMF-fixdate
/// `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850's `Sunday, 06-Nov-94 08:49:37 GMT` and asctime's
/// `Sun Nov  6 08:49:37 1994` alike, and the sloppier forms servers really send.
fn parse_cookie_date(value: &str) -> Option<i64> {
    let is_delimiter =
        |b: u8| matches!(b, 0x09 | 0x20..=0x2F | 0x3B..=0x40 | 0x5B..=0x60 | 0x7B..=0x7E);
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for token in value
        .as_bytes()
        .split(|&b| is_delimiter(b))
        .filter(|t| !t.is_empty())
    {
        if time.is_none() {
            if let Some(t) = parse_time(token) {
                time = Some(t);
                continue;
            }
        }
        if day.is_none() {
            if let Some((d, _)) = leading_digits(token, 1, 2) {
                day = Some(d);
                continue;
            }
        }
        if month.is_none() {
            if let Some(m) = parse_month(token) {
                month = Some(m);
                continue;
            }
        }
        if year.is_none() {
            if let Some((y, _)) = leading_digits(token, 2, 4) {
                year = Some(y);
                continue;
            }
        }
    }
    let ((hour, minute, second), day, month, mut year) = (time?, day?, month?, year?);
    // Two-digit years, as RFC 850 writes them.
    if (70..=99).contains(&year) {
        year += 1900;
    } else if year <= 69 {
        year += 2000;
    }
    if year < 1601
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second))
}

/// `min..=max` ASCII digits at the start of `token`, not followed by another digit, with what
/// follows them.
fn leading_digits(token: &[u8], min: usize, max: usize) -> Option<(u32, &[u8])> {
    let n = token.iter().take_while(|b| b.is_ascii_digit()).count();
    if n < min || n > max {
        return None;
    }
    let value = token[..n]
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    Some((value, &token[n..]))
}

/// `hh:mm:ss` (one or two digits each) at the start of `token`.
fn parse_time(token: &[u8]) -> Option<(u32, u32, u32)> {
    let (hour, rest) = leading_digits(token, 1, 2)?;
    let (minute, rest) = leading_digits(rest.strip_prefix(b":")?, 1, 2)?;
    let (second, _) = leading_digits(rest.strip_prefix(b":")?, 1, 2)?;
    Some((hour, minute, second))
}

/// The month (1..=12) a token starts with, by its first three letters in any case.
fn parse_month(token: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let prefix = token.get(..3)?;
    MONTHS
        .iter()
        .position(|m| prefix.eq_ignore_ascii_case(&m[..]))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`), negative before 1970.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// 2026-12-06T00:00:00Z, the "now" of these tests.
    const NOW: i64 = 1_796_515_200;

    fn set_cookies(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(SET_COOKIE, HeaderValue::from_str(v).expect("header value"));
        }
        headers
    }

    /// The `Cookie` header the jar produces at `now`, with the user's `Cookie` header if any.
    fn sent_at(jar: &CookieJar, user: Option<&str>, now: i64) -> Option<String> {
        let mut headers = HeaderMap::new();
        if let Some(user) = user {
            headers.insert(COOKIE, HeaderValue::from_str(user).expect("header value"));
        }
        jar.apply_at(&mut headers, now);
        assert!(
            headers.get_all(COOKIE).iter().count() <= 1,
            "one Cookie header"
        );
        headers
            .get(COOKIE)
            .map(|v| String::from_utf8(v.as_bytes().to_vec()).expect("utf-8"))
    }

    fn sent(jar: &CookieJar) -> Option<String> {
        sent_at(jar, None, NOW)
    }

    fn jar_with(values: &[&str]) -> CookieJar {
        let jar = CookieJar::default();
        jar.store_at(&set_cookies(values), NOW);
        jar
    }

    #[test]
    fn keeps_replaces_and_deletes_cookies() {
        let jar = jar_with(&["io=abc; Path=/; HttpOnly", "lb=node-1"]);
        assert_eq!(sent(&jar).as_deref(), Some("io=abc; lb=node-1"));
        jar.store_at(&set_cookies(&["io=def", "lb=; Max-Age=0"]), NOW);
        assert_eq!(sent(&jar).as_deref(), Some("io=def"));
    }

    #[test]
    fn a_disabled_jar_neither_stores_nor_sends() {
        let jar = CookieJar::new(false);
        jar.store_at(&set_cookies(&["io=abc", "lb=node-1"]), NOW);
        assert!(jar.cookies.lock().expect("lock").is_empty());
        assert_eq!(sent(&jar), None);
        // the user's own header goes out as written
        assert_eq!(
            sent_at(&jar, Some("auth=abc"), NOW).as_deref(),
            Some("auth=abc")
        );
    }

    #[test]
    fn an_empty_value_is_a_cookie_not_a_deletion() {
        // RFC 6265 §5.2: `name=` sets a cookie whose value is empty.
        let jar = jar_with(&["io=abc", "io="]);
        assert_eq!(sent(&jar).as_deref(), Some("io="));
    }

    #[test]
    fn nothing_to_send_leaves_the_headers_alone() {
        let jar = CookieJar::default();
        assert_eq!(sent(&jar), None);
        assert_eq!(
            sent_at(&jar, Some("auth=abc"), NOW).as_deref(),
            Some("auth=abc")
        );
        // several user headers stay several when the jar adds nothing
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1"));
        headers.append(COOKIE, HeaderValue::from_static("b=2"));
        jar.apply_at(&mut headers, NOW);
        assert_eq!(headers.get_all(COOKIE).iter().count(), 2);
    }

    #[test]
    fn the_users_cookie_header_is_merged_with_the_jar() {
        let jar = jar_with(&["io=sid1", "lb=node-1"]);
        assert_eq!(
            sent_at(&jar, Some("auth=abc"), NOW).as_deref(),
            Some("auth=abc; io=sid1; lb=node-1")
        );
        // several user headers become one, in their order, then the jar's
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1"));
        headers.append(COOKIE, HeaderValue::from_static(" b=2 "));
        jar.apply_at(&mut headers, NOW);
        let all: Vec<_> = headers.get_all(COOKIE).iter().collect();
        assert_eq!(all, ["a=1; b=2; io=sid1; lb=node-1"]);
        // applying twice adds nothing more
        jar.apply_at(&mut headers, NOW);
        let all: Vec<_> = headers.get_all(COOKIE).iter().collect();
        assert_eq!(all, ["a=1; b=2; io=sid1; lb=node-1"]);
    }

    #[test]
    fn the_user_wins_on_a_name() {
        let jar = jar_with(&["auth=from-server", "io=sid1"]);
        assert_eq!(
            sent_at(&jar, Some("auth=abc"), NOW).as_deref(),
            Some("auth=abc; io=sid1")
        );
        assert_eq!(
            sent_at(&jar, Some("x=1;auth = abc; y"), NOW).as_deref(),
            Some("x=1;auth = abc; y; io=sid1")
        );
        // the jar still holds its own value for requests without the user's header
        assert_eq!(sent(&jar).as_deref(), Some("auth=from-server; io=sid1"));
    }

    #[test]
    fn the_jar_keeps_at_most_max_cookies_and_evicts_the_oldest_first() {
        let jar = CookieJar::default();
        for i in 0..MAX_COOKIES + 10 {
            jar.store_at(&set_cookies(&[&format!("c{i}=v")]), NOW);
        }
        let header = sent(&jar).expect("cookies");
        let names: Vec<_> = header
            .split("; ")
            .map(|c| c.trim_end_matches("=v"))
            .collect();
        let expected: Vec<_> = (10..MAX_COOKIES + 10).map(|i| format!("c{i}")).collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn replacing_a_cookie_keeps_its_age() {
        let jar = CookieJar::default();
        for i in 0..MAX_COOKIES {
            jar.store_at(&set_cookies(&[&format!("c{i}=v")]), NOW);
        }
        // resending the oldest does not save it from eviction
        jar.store_at(&set_cookies(&["c0=again", "new=1"]), NOW);
        let header = sent(&jar).expect("cookies");
        assert!(!header.contains("c0="), "{header}");
        assert!(header.starts_with("c1=v; "), "{header}");
        assert!(header.ends_with("; new=1"), "{header}");
        assert_eq!(header.split("; ").count(), MAX_COOKIES);
    }

    #[test]
    fn expired_cookies_are_evicted_before_live_ones() {
        let jar = CookieJar::default();
        jar.store_at(&set_cookies(&["keep=1"]), NOW);
        jar.store_at(&set_cookies(&["short=1; Max-Age=10"]), NOW);
        for i in 2..MAX_COOKIES {
            jar.store_at(&set_cookies(&[&format!("c{i}=v")]), NOW);
        }
        jar.store_at(&set_cookies(&["new=1"]), NOW + 20);
        let header = sent_at(&jar, None, NOW + 20).expect("cookies");
        assert!(header.starts_with("keep=1; c2=v"), "{header}");
        assert!(!header.contains("short"), "{header}");
        assert_eq!(header.split("; ").count(), MAX_COOKIES);
    }

    #[test]
    fn a_cookie_over_the_size_limit_is_ignored() {
        let fits = format!("n={}", "x".repeat(MAX_COOKIE_SIZE - 1));
        let too_big = format!("n={}", "y".repeat(MAX_COOKIE_SIZE));
        let jar = jar_with(&[&fits]);
        assert_eq!(sent(&jar).as_deref(), Some(fits.as_str()));
        // ignored entirely: it neither sets nor replaces
        jar.store_at(&set_cookies(&[&too_big]), NOW);
        assert_eq!(sent(&jar).as_deref(), Some(fits.as_str()));
    }

    #[test]
    fn max_age_expires_a_cookie_after_that_many_seconds() {
        let jar = jar_with(&["io=abc; Max-Age=60"]);
        assert_eq!(sent_at(&jar, None, NOW + 59).as_deref(), Some("io=abc"));
        assert_eq!(sent_at(&jar, None, NOW + 60), None);
        // and it is gone from the jar, not only hidden
        assert_eq!(sent_at(&jar, None, NOW), None);
    }

    #[test]
    fn max_age_zero_or_negative_deletes_the_cookie() {
        for delete in [
            "io=x; Max-Age=0",
            "io=x; max-age=-1",
            "io=x; MAX-AGE = -99999",
        ] {
            let jar = jar_with(&["io=abc", "lb=1"]);
            jar.store_at(&set_cookies(&[delete]), NOW);
            assert_eq!(sent(&jar).as_deref(), Some("lb=1"), "{delete}");
        }
        // an expired cookie for a name the jar does not hold is simply not stored
        let jar = jar_with(&["io=abc; Max-Age=0"]);
        assert_eq!(sent(&jar), None);
    }

    #[test]
    fn a_huge_max_age_saturates() {
        let jar = jar_with(&["io=abc; Max-Age=99999999999999999999999"]);
        assert_eq!(sent_at(&jar, None, i64::MAX - 1).as_deref(), Some("io=abc"));
    }

    #[test]
    fn expires_in_the_past_deletes_and_in_the_future_keeps_until_then() {
        // Express's res.clearCookie
        let jar = jar_with(&["io=abc", "lb=1"]);
        jar.store_at(
            &set_cookies(&["io=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]),
            NOW,
        );
        assert_eq!(sent(&jar).as_deref(), Some("lb=1"));

        let jar = jar_with(&["io=abc; Expires=Sun, 06 Dec 2026 01:00:00 GMT"]);
        assert_eq!(sent_at(&jar, None, NOW + 3599).as_deref(), Some("io=abc"));
        assert_eq!(sent_at(&jar, None, NOW + 3600), None);
    }

    #[test]
    fn max_age_wins_over_expires() {
        let jar = jar_with(&["io=abc; Max-Age=100; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]);
        assert_eq!(sent(&jar).as_deref(), Some("io=abc"));
        assert_eq!(sent_at(&jar, None, NOW + 100), None);
        // in either order
        let jar = jar_with(&["io=abc; Expires=Fri, 31 Dec 9999 23:59:59 GMT; Max-Age=0"]);
        assert_eq!(sent(&jar), None);
        // the last valid Max-Age counts
        let jar = jar_with(&["io=abc; Max-Age=0; Max-Age=100"]);
        assert_eq!(sent(&jar).as_deref(), Some("io=abc"));
    }

    #[test]
    fn malformed_attribute_values_are_ignored() {
        for header in [
            "io=abc; Max-Age=",
            "io=abc; Max-Age=-",
            "io=abc; Max-Age=+5",
            "io=abc; Max-Age=1.5",
            "io=abc; Max-Age=ten",
            "io=abc; Max-Age=0x10",
            "io=abc; Expires=",
            "io=abc; Expires=yesterday",
            "io=abc; Expires=Thu, 30 Feb 1970 00:00:00 GMT",
            "io=abc; Expires=Thu, 01 Jan 1970 24:00:00 GMT",
            "io=abc; Expires=Thu, 01 Jan 1600 00:00:00 GMT",
            "io=abc; Expires=Thu, 01 Foo 1970 00:00:00 GMT",
            "io=abc; Expires=01 Jan 1970",
            "io=abc; Expires; Max-Age",
        ] {
            let jar = jar_with(&[header]);
            assert_eq!(sent(&jar).as_deref(), Some("io=abc"), "{header}");
            assert_eq!(
                sent_at(&jar, None, i64::MAX).as_deref(),
                Some("io=abc"),
                "{header}: a session cookie"
            );
        }
        // a malformed Max-Age does not hide a valid Expires
        let jar = jar_with(&["io=abc; Max-Age=soon; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]);
        assert_eq!(sent(&jar), None);
    }

    #[test]
    fn malformed_set_cookie_headers_are_ignored() {
        let mut headers = set_cookies(&["no-equals-sign", "=value-without-name", " = ", ""]);
        headers.append(
            SET_COOKIE,
            HeaderValue::from_bytes(b"bin=\xff\xfe").expect("obs-text is a header value"),
        );
        headers.append(SET_COOKIE, HeaderValue::from_static("ok=1"));
        let jar = CookieJar::default();
        jar.store_at(&headers, NOW);
        assert_eq!(sent(&jar).as_deref(), Some("ok=1"));
    }

    #[test]
    fn utf8_values_are_kept() {
        let mut headers = HeaderMap::new();
        headers.append(
            SET_COOKIE,
            HeaderValue::from_bytes("name=héllo; Path=/".as_bytes()).expect("header value"),
        );
        let jar = CookieJar::default();
        jar.store_at(&headers, NOW);
        assert_eq!(sent(&jar).as_deref(), Some("name=héllo"));
    }

    #[test]
    fn the_three_http_date_forms_and_sloppy_ones_parse() {
        // RFC 9110 §5.6.7's example: 784111777
        let at = Some(784_111_777);
        assert_eq!(parse_cookie_date("Sun, 06 Nov 1994 08:49:37 GMT"), at);
        assert_eq!(parse_cookie_date("Sunday, 06-Nov-94 08:49:37 GMT"), at);
        assert_eq!(parse_cookie_date("Sun Nov  6 08:49:37 1994"), at);
        assert_eq!(parse_cookie_date("6 nov 1994 8:49:37"), at);
        assert_eq!(parse_cookie_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_cookie_date("Wed, 01-Jan-2031 00:00:00 GMT"),
            Some(1_924_992_000)
        );
        assert_eq!(
            parse_cookie_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(1_835_438_400)
        );
        assert_eq!(
            parse_cookie_date("Mon, 01 Jan 1601 00:00:00 GMT"),
            Some(-11_644_473_600)
        );
        assert_eq!(
            parse_cookie_date("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(253_402_300_799)
        );
        assert_eq!(parse_cookie_date("Thu, 29 Feb 2027 12:00:00 GMT"), None);
        assert_eq!(parse_cookie_date("Thu, 01 Jan 1970 00:60:00 GMT"), None);
        assert_eq!(parse_cookie_date("Thu, 01 Jan 1970 00:00 GMT"), None);
        assert_eq!(parse_cookie_date("Thu, 01 Jan 19700 00:00:00 GMT"), None);
    }

    /// Any bytes a header value can hold (no control characters but tab), half of the time
    /// shaped like a `Set-Cookie` with expiry attributes so the parsers get past the name.
    fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
        let raw = proptest::collection::vec(any::<u8>(), 0..48).prop_map(|bytes| {
            bytes
                .into_iter()
                .map(|b| {
                    if (b < 0x20 && b != b'\t') || b == 0x7f {
                        b';'
                    } else {
                        b
                    }
                })
                .collect()
        });
        let shaped = "[a-z]{1,3}=[ -:<-~]{0,8}(; ?(Max-Age|expires|Path)=[ -:<-~]{0,32}){0,3}"
            .prop_map(String::into_bytes);
        prop_oneof![raw, shaped]
    }

    proptest! {
        #[test]
        fn no_panic_and_bounded_on_any_header_bytes(
            values in proptest::collection::vec(header_bytes(), 0..64),
            user in header_bytes(),
            now in any::<i64>(),
        ) {
            let mut headers = HeaderMap::new();
            for v in &values {
                if let Ok(v) = HeaderValue::from_bytes(v) {
                    headers.append(SET_COOKIE, v);
                }
            }
            let jar = CookieJar::default();
            jar.store_at(&headers, now);
            let mut request = HeaderMap::new();
            if let Ok(user) = HeaderValue::from_bytes(&user) {
                request.insert(COOKIE, user);
            }
            jar.apply_at(&mut request, now);
            let held = jar.cookies.lock().expect("lock").len();
            prop_assert!(held <= MAX_COOKIES);
        }

        #[test]
        fn no_panic_on_any_date_or_max_age(text in "\\PC{0,48}") {
            let _ = parse_cookie_date(&text);
            let _ = parse_max_age(&text);
        }
    }
}
