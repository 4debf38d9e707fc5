//! The macro's own attributes: the arguments of `#[socketio_events(...)]` on the trait, and
//! `#[emit]` / `#[on]` (with an optional `name = "..."`) on its methods.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Attribute, LitStr, Meta};

use crate::Errors;

/// The valid arguments of `#[socketio_events]`, as error messages list them.
const CONTRACT_ARGS: &str =
    "`namespace = \"/...\"`, `rename_all = \"...\"` and `crate = \"path::to::ferrio\"`";

/// The arguments of `#[socketio_events(...)]`.
#[derive(Default)]
pub(crate) struct ContractArgs {
    /// `namespace = "/chat"`: the Socket.IO namespace (default `/`).
    pub(crate) namespace: Option<LitStr>,
    /// `rename_all = "camelCase"`: how wire names derive from method names.
    pub(crate) rename_all: Option<RenameRule>,
    /// `crate = "my_app::ferrio"`: where the `ferrio` crate is, when it is renamed or
    /// re-exported (default `::ferrio`).
    pub(crate) krate: Option<syn::Path>,
}

/// Parses the arguments of `#[socketio_events(...)]`. A bad argument is reported and the
/// ones before it are kept.
pub(crate) fn contract_args(tokens: TokenStream, errors: &mut Errors) -> ContractArgs {
    let mut args = ContractArgs::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("namespace") {
            if args.namespace.is_some() {
                return Err(meta.error("`namespace` is given twice"));
            }
            args.namespace = Some(meta.value()?.parse()?);
            Ok(())
        } else if meta.path.is_ident("crate") {
            if args.krate.is_some() {
                return Err(meta.error("`crate` is given twice"));
            }
            let lit: LitStr = meta.value()?.parse()?;
            args.krate = Some(lit.parse().map_err(|_| {
                syn::Error::new(
                    lit.span(),
                    format_args!(
                        "`crate` takes a path to the ferrio crate, such as \"::ferrio\" or \
                         \"my_app::ferrio\"; {:?} is not one",
                        lit.value()
                    ),
                )
            })?);
            Ok(())
        } else if meta.path.is_ident("rename_all") {
            if args.rename_all.is_some() {
                return Err(meta.error("`rename_all` is given twice"));
            }
            let lit: LitStr = meta.value()?.parse()?;
            args.rename_all = Some(RenameRule::from_lit(&lit)?);
            Ok(())
        } else {
            Err(meta.error(format_args!(
                "unknown argument `{}` of `#[socketio_events]`; the valid arguments are {CONTRACT_ARGS}",
                path_text(&meta.path),
            )))
        }
    });
    if let Err(error) = parser.parse2(tokens) {
        errors.push(error);
    }
    args
}

/// Who sends an event, as its method attribute says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    /// `#[emit]`: the client sends.
    Emit,
    /// `#[on]`: the server sends.
    On,
}

impl Direction {
    /// The attribute's name.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Direction::Emit => "emit",
            Direction::On => "on",
        }
    }
}

/// `#[emit]` or `#[on]` on a method, with its `name = "..."` if any.
pub(crate) struct EventAttr {
    pub(crate) direction: Direction,
    /// The attribute's span (the `emit` / `on` path).
    pub(crate) span: Span,
    /// `name = "..."`: the wire name, when it differs from the method's name.
    pub(crate) name: Option<LitStr>,
}

/// Whether `attr` is `#[emit...]` or `#[on...]`.
pub(crate) fn event_direction(attr: &Attribute) -> Option<Direction> {
    if attr.path().is_ident("emit") {
        Some(Direction::Emit)
    } else if attr.path().is_ident("on") {
        Some(Direction::On)
    } else {
        None
    }
}

/// Parses `#[emit]`, `#[emit(name = "...")]` (and the same for `on`).
pub(crate) fn event_attr(attr: &Attribute, direction: Direction) -> syn::Result<EventAttr> {
    let which = direction.attr();
    let mut name = None;
    match &attr.meta {
        Meta::Path(_) => {}
        Meta::List(_) => attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                if name.is_some() {
                    return Err(meta.error("`name` is given twice"));
                }
                name = Some(meta.value()?.parse::<LitStr>()?);
                Ok(())
            } else {
                Err(meta.error(format_args!(
                    "unknown argument `{}` of `#[{which}]`; the valid argument is `name = \"...\"` (the event's name on the wire)",
                    path_text(&meta.path),
                )))
            }
        })?,
        Meta::NameValue(nv) => {
            return Err(syn::Error::new(
                nv.eq_token.span(),
                format_args!("write `#[{which}(name = \"...\")]` to give the event another wire name"),
            ))
        }
    }
    Ok(EventAttr {
        direction,
        span: attr.path().span(),
        name,
    })
}

/// Whether `attr` is a doc comment (`///`, `/** */`, `#[doc = ...]`, `#[doc(hidden)]`).
pub(crate) fn is_doc(attr: &Attribute) -> bool {
    attr.path().is_ident("doc")
}

/// A path as the user wrote it, for messages.
fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

/// How `rename_all` turns a method's snake_case name into a wire name (serde's spellings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RenameRule {
    /// `lowercase`: `send_message` -> `sendmessage`.
    Lower,
    /// `UPPERCASE`: `send_message` -> `SENDMESSAGE`.
    Upper,
    /// `PascalCase`: `send_message` -> `SendMessage`.
    Pascal,
    /// `camelCase`: `send_message` -> `sendMessage`.
    Camel,
    /// `snake_case`: unchanged.
    Snake,
    /// `SCREAMING_SNAKE_CASE`: `send_message` -> `SEND_MESSAGE`.
    ScreamingSnake,
    /// `kebab-case`: `send_message` -> `send-message`.
    Kebab,
    /// `SCREAMING-KEBAB-CASE`: `send_message` -> `SEND-MESSAGE`.
    ScreamingKebab,
}

impl RenameRule {
    const ALL: [(&'static str, RenameRule); 8] = [
        ("lowercase", RenameRule::Lower),
        ("UPPERCASE", RenameRule::Upper),
        ("PascalCase", RenameRule::Pascal),
        ("camelCase", RenameRule::Camel),
        ("snake_case", RenameRule::Snake),
        ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
        ("kebab-case", RenameRule::Kebab),
        ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
    ];

    fn from_lit(lit: &LitStr) -> syn::Result<Self> {
        let value = lit.value();
        Self::ALL
            .iter()
            .find(|(name, _)| *name == value)
            .map(|(_, rule)| *rule)
            .ok_or_else(|| {
                let valid: Vec<String> =
                    Self::ALL.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                syn::Error::new(
                    lit.span(),
                    format_args!(
                        "unknown `rename_all` rule \"{value}\"; the valid rules are {}",
                        valid.join(", ")
                    ),
                )
            })
    }

    /// The wire name of the method `name` (snake_case, without `r#`).
    pub(crate) fn apply(self, name: &str) -> String {
        let words = name.split('_').filter(|w| !w.is_empty());
        match self {
            RenameRule::Lower => name.replace('_', "").to_lowercase(),
            RenameRule::Upper => name.replace('_', "").to_uppercase(),
            RenameRule::Snake => name.to_owned(),
            RenameRule::ScreamingSnake => name.to_uppercase(),
            RenameRule::Kebab => words.collect::<Vec<_>>().join("-"),
            RenameRule::ScreamingKebab => words.collect::<Vec<_>>().join("-").to_uppercase(),
            RenameRule::Pascal => words.map(capitalize).collect(),
            RenameRule::Camel => {
                let pascal: String = words.map(capitalize).collect();
                let mut chars = pascal.chars();
                match chars.next() {
                    Some(first) => first.to_lowercase().chain(chars).collect(),
                    None => pascal,
                }
            }
        }
    }
}

/// `word` with its first character in upper case.
fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::RenameRule;

    #[test]
    fn rename_rules_follow_serde() {
        let cases = [
            (RenameRule::Lower, "sendmessage"),
            (RenameRule::Upper, "SENDMESSAGE"),
            (RenameRule::Pascal, "SendMessage"),
            (RenameRule::Camel, "sendMessage"),
            (RenameRule::Snake, "send_message"),
            (RenameRule::ScreamingSnake, "SEND_MESSAGE"),
            (RenameRule::Kebab, "send-message"),
            (RenameRule::ScreamingKebab, "SEND-MESSAGE"),
        ];
        for (rule, expected) in cases {
            assert_eq!(rule.apply("send_message"), expected, "{rule:?}");
        }
        assert_eq!(RenameRule::Camel.apply("hello"), "hello");
        assert_eq!(RenameRule::Camel.apply("get_item2_now"), "getItem2Now");
        assert_eq!(RenameRule::Kebab.apply("x"), "x");
    }
}
