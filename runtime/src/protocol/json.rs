//! A validating JSON scanner: finds the elements of a JSON array without building anything.
//!
//! A received event is `["name", arg, ...]`, and each argument is deserialized later, straight
//! from the frame into the listener's type. Before that, the packet decoder needs only where
//! each element lies, and to know that the whole text is JSON (a malformed packet is a parse
//! error of the connection, as for socket.io-parser, not a surprise for a listener later).
//! This scanner does exactly that in one pass over the bytes: no allocation for the usual few
//! elements, no tree, no visitor machinery. It accepts what `serde_json` accepts (RFC 8259,
//! nesting up to 128 levels); a property test in this module holds the two to the same answer.

use std::fmt;

/// The deepest nesting accepted, the outer array included: more than `serde_json` decodes
/// into any type (it refuses the 128th level; only its `RawValue` is unbounded), so nothing a
/// listener could read is refused, and a hostile frame of brackets costs no more than its size.
const MAX_DEPTH: usize = 128;

/// Why a text is not the JSON array expected, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    what: &'static str,
    at: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.at, self.what)
    }
}

/// Where a value lies in a text: `start..end`, whitespace excluded.
pub type Span = (u32, u32);

/// The spans of an array's elements: inline for the usual few, so a received event
/// allocates no list of its own.
#[derive(Debug, Clone)]
pub enum Spans {
    /// Up to four spans, the first `.0` of them used.
    Inline(u8, [Span; 4]),
    /// More than four.
    Heap(Vec<Span>),
}

impl Default for Spans {
    fn default() -> Self {
        Spans::Inline(0, [(0, 0); 4])
    }
}

impl Spans {
    fn push(&mut self, span: Span) {
        match self {
            Spans::Inline(len, items) if usize::from(*len) < items.len() => {
                items[usize::from(*len)] = span;
                *len += 1;
            }
            Spans::Inline(_, items) => {
                let mut heap = Vec::with_capacity(8);
                heap.extend_from_slice(items);
                heap.push(span);
                *self = Spans::Heap(heap);
            }
            Spans::Heap(items) => items.push(span),
        }
    }

    /// The spans, in order.
    pub fn as_slice(&self) -> &[Span] {
        match self {
            Spans::Inline(len, items) => &items[..usize::from(*len)],
            Spans::Heap(items) => items,
        }
    }
}

/// Reads `text` as one JSON array (whitespace around it allowed) and returns where each of
/// its elements lies. Offsets fit `u32`: frames are capped far below 4 GiB, and a longer
/// text is refused.
pub fn array_elements(text: &str) -> Result<Spans, JsonError> {
    let mut scan = Scanner {
        bytes: text.as_bytes(),
        at: 0,
    };
    if u32::try_from(text.len()).is_err() {
        return Err(scan.error("text longer than 4 GiB"));
    }
    scan.skip_whitespace();
    if scan.peek() != Some(b'[') {
        return Err(scan.error("expected an array"));
    }
    scan.at += 1;
    let mut spans = Spans::default();
    scan.skip_whitespace();
    if scan.peek() == Some(b']') {
        scan.at += 1;
    } else {
        loop {
            scan.skip_whitespace();
            let start = scan.at;
            scan.value(MAX_DEPTH - 1)?;
            spans.push((start as u32, scan.at as u32));
            scan.skip_whitespace();
            match scan.peek() {
                Some(b',') => scan.at += 1,
                Some(b']') => {
                    scan.at += 1;
                    break;
                }
                _ => return Err(scan.error("expected `,` or `]`")),
            }
        }
    }
    scan.skip_whitespace();
    if scan.at != scan.bytes.len() {
        return Err(scan.error("trailing characters"));
    }
    Ok(spans)
}

/// Tells whether a JSON string literal (quotes included, already validated) holds an escape.
pub fn has_escape(literal: &str) -> bool {
    literal.as_bytes().contains(&b'\\')
}

/// Whether `b` ends the plain run of a JSON string: the quote, the backslash and control
/// bytes, exactly the bytes a JSON writer escapes (so the encoder asks the same question).
#[inline(always)]
pub(crate) fn ends_string_run(b: u8) -> bool {
    STRING_STOP[usize::from(b)]
}

/// Which bytes end the plain run of a string: the quote, the backslash, control bytes.
static STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn error(&self, what: &'static str) -> JsonError {
        JsonError { what, at: self.at }
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips whitespace; the usual compact JSON has none, which one comparison tells.
    #[inline(always)]
    fn skip_whitespace(&mut self) {
        while let Some(&b) = self.bytes.get(self.at) {
            if b > b' ' || !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.at += 1;
        }
    }

    /// Reads one value at `at` (no whitespace before it), nesting at most `max_depth` levels.
    /// Iterative: a shift register of one bit per open container (set for an object, the
    /// innermost lowest) stands in for a call stack.
    fn value(&mut self, max_depth: usize) -> Result<(), JsonError> {
        let mut depth = 0;
        let mut objects: u128 = 0;
        'value: loop {
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    if depth == max_depth {
                        return Err(self.error("nested too deep"));
                    }
                    let object = open == b'{';
                    objects = (objects << 1) | u128::from(object);
                    depth += 1;
                    self.at += 1;
                    self.skip_whitespace();
                    let close = if object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.at += 1;
                        objects >>= 1;
                        depth -= 1;
                    } else {
                        if object {
                            self.key()?;
                        }
                        self.skip_whitespace();
                        continue 'value;
                    }
                }
                Some(b'"') => self.string()?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                _ => return Err(self.error("expected a value")),
            }
            // A value ended: go on in its container, or close it.
            while depth > 0 {
                self.skip_whitespace();
                let object = objects & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.at += 1;
                        self.skip_whitespace();
                        if object {
                            self.key()?;
                            self.skip_whitespace();
                        }
                        continue 'value;
                    }
                    Some(b'}') if object => self.at += 1,
                    Some(b']') if !object => self.at += 1,
                    _ if object => return Err(self.error("expected `,` or `}`")),
                    _ => return Err(self.error("expected `,` or `]`")),
                }
                objects >>= 1;
                depth -= 1;
            }
            return Ok(());
        }
    }

    /// Reads `"key" :` (no whitespace before it).
    #[inline(always)]
    fn key(&mut self) -> Result<(), JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a key"));
        }
        self.string()?;
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(self.error("expected `:`"));
        }
        self.at += 1;
        Ok(())
    }

    /// Reads a string literal; `at` is on its opening quote. The text is UTF-8 already, so
    /// only escapes and control characters need a look.
    #[inline(always)]
    fn string(&mut self) -> Result<(), JsonError> {
        self.at += 1;
        loop {
            while let Some(&b) = self.bytes.get(self.at) {
                if ends_string_run(b) {
                    break;
                }
                self.at += 1;
            }
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.at += 1
                        }
                        Some(b'u') => {
                            let hex = self.bytes.get(self.at + 1..self.at + 5);
                            if !hex.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.error("invalid \\u escape"));
                            }
                            self.at += 5;
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// Reads `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    #[inline(always)]
    fn number(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Ok(())
    }

    #[inline(always)]
    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }

    #[inline(always)]
    fn some_digits(&mut self) -> Result<(), JsonError> {
        let start = self.at;
        self.digits();
        if self.at == start {
            return Err(self.error("invalid number"));
        }
        Ok(())
    }

    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.bytes.get(self.at..self.at + word.len()) != Some(word) {
            return Err(self.error("expected a value"));
        }
        self.at += word.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::value::RawValue;

    fn elements(text: &str) -> Option<Vec<&str>> {
        let spans = array_elements(text).ok()?;
        Some(
            spans
                .as_slice()
                .iter()
                .map(|&(s, e)| &text[s as usize..e as usize])
                .collect(),
        )
    }

    /// What serde_json says of the same text: the raw elements, or a refusal.
    fn serde_elements(text: &str) -> Option<Vec<&str>> {
        let raws: Vec<&RawValue> = serde_json::from_str(text).ok()?;
        Some(raws.into_iter().map(RawValue::get).collect())
    }

    #[test]
    fn finds_the_elements() {
        assert_eq!(elements("[]"), Some(vec![]));
        assert_eq!(elements(" [ ] "), Some(vec![]));
        assert_eq!(
            elements(r#"["a", {"b": [1, 2.5e-3, true]} ,null,-0,"\u00e9\"\\"]"#),
            Some(vec![
                r#""a""#,
                r#"{"b": [1, 2.5e-3, true]}"#,
                "null",
                "-0",
                r#""\u00e9\"\\""#
            ])
        );
        let many = format!("[{}]", ["1"; 9].join(","));
        assert_eq!(elements(&many).map(|e| e.len()), Some(9));
    }

    #[test]
    fn refuses_what_is_not_json() {
        for text in [
            "",
            "{}",
            "[",
            "[1",
            "[1,]",
            "[,1]",
            "[1 2]",
            "[01]",
            "[1.]",
            "[.5]",
            "[1e]",
            "[-]",
            "[+1]",
            "[tru]",
            "[nul]",
            "[\"a]",
            "[\"\\x\"]",
            "[\"\\u12g4\"]",
            "[\"a\u{1}\"]",
            "[{1:2}]",
            "[{\"a\" 1}]",
            "[{\"a\":}]",
            "[{\"a\":1,}]",
            "[{\"a\":1]",
            "[[1}]",
            "[1]x",
            "[1] [2]",
            "[NaN]",
            "[Infinity]",
            "['a']",
        ] {
            assert!(array_elements(text).is_err(), "{text:?} was accepted");
            assert!(
                serde_elements(text).is_none(),
                "serde_json accepts {text:?}"
            );
        }
    }

    #[test]
    fn nesting_is_bounded_above_what_serde_json_decodes() {
        for levels in MAX_DEPTH - 3..MAX_DEPTH + 3 {
            let arrays = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
            let objects = format!(
                "[{}1{}]",
                "{\"a\":".repeat(levels - 1),
                "}".repeat(levels - 1)
            );
            for text in [arrays, objects] {
                let decodable = serde_json::from_str::<serde_json::Value>(&text).is_ok();
                let scanned = array_elements(&text).is_ok();
                assert_eq!(scanned, levels <= MAX_DEPTH, "{levels} levels");
                assert!(scanned || !decodable, "{levels} levels");
            }
        }
    }

    /// Arbitrary JSON-ish text: valid values, and bytes of JSON's alphabet in any order.
    fn jsonish() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| serde_json::to_string(&f).unwrap_or_default()),
            "\\PC{0,8}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        ];
        let valid = leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(("[a-z\\\\\"]{0,4}", inner), 0..4).prop_map(|v| {
                    let fields: Vec<String> = v
                        .into_iter()
                        .map(|(k, v)| {
                            format!("{}: {v}", serde_json::to_string(&k).unwrap_or_default())
                        })
                        .collect();
                    format!("{{ {} }}", fields.join(" , "))
                }),
            ]
        });
        let noise = prop::collection::vec(
            prop::sample::select(vec![
                "[", "]", "{", "}", ",", ":", "\"", "\\", "u", "0", "1", "-", ".", "e", "+", " ",
                "t", "true", "null", "\"a\"", "\u{1}", "é",
            ]),
            0..24,
        )
        .prop_map(|parts| parts.concat());
        prop_oneof![
            valid.clone().prop_map(|v| format!("[{v}]")),
            prop::collection::vec(valid, 0..4).prop_map(|v| format!("[{}]", v.join(" ,"))),
            noise,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The scanner and serde_json agree on every text: accepted or not, and the elements.
        #[test]
        fn agrees_with_serde_json(text in jsonish()) {
            prop_assert_eq!(elements(&text), serde_elements(&text), "text {:?}", text);
        }

        /// A valid array with one byte changed: still the same answer as serde_json.
        #[test]
        fn agrees_on_corrupted_arrays(text in jsonish(), at in any::<prop::sample::Index>(), b in any::<u8>()) {
            let mut bytes = text.into_bytes();
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            if let Ok(text) = String::from_utf8(bytes) {
                prop_assert_eq!(elements(&text), serde_elements(&text), "text {:?}", text);
            }
        }
    }
}
