//! Rust identifiers from wire names: case conversion, keywords, collisions.

use std::collections::BTreeSet;

/// Rust's strict and reserved keywords (2021 edition), which need `r#` as identifiers.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Words split from a name: at non-alphanumeric characters and at lower-to-upper case
/// changes (`userID-list` -> `user`, `ID`, `list`).
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous = None;
            continue;
        }
        if let Some(p) = previous {
            if p.is_ascii_lowercase() && c.is_ascii_uppercase() {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
        previous = Some(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `chat message` -> `chat_message`, `userId` -> `user_id`; a keyword becomes `r#type`
/// (`self_` for the few that cannot be raw); a leading digit gets `_`; nothing left gives
/// `fallback`.
pub(crate) fn snake_case(name: &str, fallback: &str) -> String {
    let words: Vec<String> = words(name)
        .into_iter()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let mut ident = words.join("_");
    if ident.is_empty() {
        ident = fallback.to_owned();
    }
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    keyword_safe(ident)
}

/// `room info` -> `RoomInfo`, `RoomInfo` stays; a leading digit gets `T`.
pub(crate) fn pascal_case(name: &str, fallback: &str) -> String {
    let mut ident = String::new();
    for word in words(name) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            ident.push(first.to_ascii_uppercase());
            ident.extend(chars);
        }
    }
    if ident.is_empty() {
        ident = fallback.to_owned();
    }
    if ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, 'T');
    }
    keyword_safe(ident)
}

/// `type` -> `r#type`, `self` -> `self_`; other names unchanged.
pub(crate) fn keyword_safe(ident: String) -> String {
    if NOT_RAW.contains(&ident.as_str()) {
        format!("{ident}_")
    } else if KEYWORDS.contains(&ident.as_str()) {
        format!("r#{ident}")
    } else {
        ident
    }
}

/// Whether `name` is already a plain Rust identifier (ASCII, not a keyword).
pub(crate) fn is_plain_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "_"
        && !KEYWORDS.contains(&name)
}

/// The identifier without an `r#` prefix: what the macro and serde see.
pub(crate) fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// A set of names handing out `name2`, `name3`... on clashes.
#[derive(Debug, Default)]
pub(crate) struct Names(BTreeSet<String>);

impl Names {
    /// A set already holding `taken`.
    pub(crate) fn with(taken: &[&str]) -> Names {
        Names(taken.iter().map(|t| (*t).to_owned()).collect())
    }

    /// Claims `base` or the first free `base2`, `base3`...
    pub(crate) fn claim(&mut self, base: &str) -> String {
        let mut name = base.to_owned();
        let mut n = 2;
        while self.0.contains(unraw(&name)) || self.0.contains(&name) {
            name = format!("{}{n}", unraw(base));
            n += 1;
        }
        self.0.insert(unraw(&name).to_owned());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_convert() {
        assert_eq!(snake_case("chat message", "x"), "chat_message");
        assert_eq!(snake_case("userId", "x"), "user_id");
        assert_eq!(snake_case("type", "x"), "r#type");
        assert_eq!(snake_case("self", "x"), "self_");
        assert_eq!(snake_case("1st", "x"), "_1st");
        assert_eq!(snake_case("!!", "arg0"), "arg0");
        assert_eq!(pascal_case("room info", "X"), "RoomInfo");
        assert_eq!(pascal_case("RoomInfo", "X"), "RoomInfo");
        assert_eq!(pascal_case("in-progress", "X"), "InProgress");
        assert_eq!(pascal_case("2fa", "X"), "T2fa");
        assert_eq!(pascal_case("Self", "X"), "Self_");
        assert!(is_plain_ident("say"));
        assert!(!is_plain_ident("type"));
        assert!(!is_plain_ident("chat message"));
    }

    #[test]
    fn clashes_get_numbers() {
        let mut names = Names::with(&["Binary"]);
        assert_eq!(names.claim("Binary"), "Binary2");
        assert_eq!(names.claim("r#type"), "r#type");
        assert_eq!(names.claim("type"), "type2");
    }
}
