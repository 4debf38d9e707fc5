//! The contract a trait declares, lowered from its syntax: what codegen works from.
//!
//! Lowering is tolerant: a method with a mistake is reported (see `validate`) and left out,
//! the others still make a contract, so the expansion keeps its items and the user sees the
//! mistake alone.

use proc_macro2::{Ident, Span};
use syn::ext::IdentExt;
use syn::{Attribute, Expr, ExprLit, FnArg, ItemTrait, Lit, Meta, Pat, ReturnType, Type};

use crate::attrs::{self, ContractArgs, Direction, EventAttr};
use crate::{validate, Errors};

/// One `#[socketio_events]` trait.
pub(crate) struct Contract {
    /// The trait's name; the marker struct takes it.
    pub(crate) ident: Ident,
    /// The trait's visibility; every generated item takes it.
    pub(crate) vis: syn::Visibility,
    /// The trait's doc comments.
    pub(crate) docs: Docs,
    /// The namespace, with its leading slash.
    pub(crate) namespace: String,
    /// The path of the ferrio crate (`crate = "..."`, default `::ferrio`).
    pub(crate) krate: syn::Path,
    /// The events, in declaration order.
    pub(crate) events: Vec<Event>,
}

/// One method of the trait: one event.
pub(crate) struct Event {
    /// The method's name as written (maybe `r#type`).
    pub(crate) ident: Ident,
    /// The method's name without `r#`.
    pub(crate) name: String,
    pub(crate) direction: Direction,
    /// The event's name on the wire.
    pub(crate) wire_name: String,
    /// Where the wire name comes from: the `name = "..."` literal, else the method's name.
    pub(crate) wire_span: Span,
    /// Whether the wire name was given with `name = "..."`.
    pub(crate) explicit_name: bool,
    pub(crate) docs: Docs,
    pub(crate) args: Vec<Arg>,
    pub(crate) ack: Ack,
}

/// One argument of an event.
pub(crate) struct Arg {
    /// The parameter's name as written.
    pub(crate) ident: Ident,
    /// The parameter's name without `r#`.
    pub(crate) name: String,
    pub(crate) ty: Type,
}

/// What the receiver of an event answers: the ack's argument list, read from the method's
/// return type.
pub(crate) enum Ack {
    /// No return type (or `()`): no ack.
    None,
    /// A return type whose last path segment is `Acked`: an ack without a value.
    Empty(Type),
    /// Any other type: an ack with one value of that type.
    Value(Type),
    /// A tuple `(A, B, ..)`: an ack with one argument per element (`(A,)` is one argument;
    /// `((A, B),)` one argument that is a pair).
    Values(Type, Vec<Type>),
    /// `Result<T, E>` (a path whose last segment is `Result`, with two type arguments): Node's
    /// `callback(err, data)` convention.
    Result {
        ty: Box<Type>,
        value: Box<Type>,
        error: Box<Type>,
    },
}

impl Ack {
    /// The declared type, when the receiver answers.
    pub(crate) fn ty(&self) -> Option<&Type> {
        match self {
            Ack::None => None,
            Ack::Empty(ty) | Ack::Value(ty) | Ack::Values(ty, _) => Some(ty),
            Ack::Result { ty, .. } => Some(ty),
        }
    }

    /// The payload types that each get a slot (and so one check of their traits): the one
    /// value (`Acked` for an empty ack), each element, or the value then the error.
    pub(crate) fn slot_types(&self) -> Vec<&Type> {
        match self {
            Ack::None => Vec::new(),
            Ack::Empty(ty) | Ack::Value(ty) => vec![ty],
            Ack::Values(_, elems) => elems.iter().collect(),
            Ack::Result { value, error, .. } => vec![&**value, &**error],
        }
    }

    /// Reads a declared return type.
    fn from_type(ty: &Type) -> Ack {
        match ty {
            Type::Tuple(t) if t.elems.is_empty() => Ack::None,
            Type::Tuple(t) => Ack::Values(ty.clone(), t.elems.iter().cloned().collect()),
            Type::Group(g) => Ack::from_type(&g.elem),
            Type::Paren(p) => Ack::from_type(&p.elem),
            _ if is_acked(ty) => Ack::Empty(ty.clone()),
            _ => match result_args(ty) {
                Some((value, error)) => Ack::Result {
                    ty: Box::new(ty.clone()),
                    value: Box::new(value),
                    error: Box::new(error),
                },
                None => Ack::Value(ty.clone()),
            },
        }
    }
}

/// `(T, E)` of a `Result<T, E>` (any path ending in `Result` with two type arguments).
fn result_args(ty: &Type) -> Option<(Type, Type)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty.clone()),
        _ => None,
    });
    match (types.next(), types.next(), types.next()) {
        (Some(value), Some(error), None) if args.args.len() == 2 => Some((value, error)),
        _ => None,
    }
}

/// Doc comments: the attributes to forward, and their text for the contract.
#[derive(Default)]
pub(crate) struct Docs {
    /// Every `#[doc ...]` attribute, forwarded to the generated items as written.
    pub(crate) attrs: Vec<Attribute>,
    /// The text of the `#[doc = ...]` attributes, in order.
    pub(crate) text: Vec<DocPiece>,
}

/// A piece of doc text.
pub(crate) enum DocPiece {
    /// A line (or block) written as a literal, `///` markers and indentation removed.
    Text(String),
    /// Text from an expression (`#[doc = include_str!("..")]`), spliced with `concat!`.
    Expr(Expr),
}

impl Docs {
    fn from_attrs(all: &[Attribute]) -> Docs {
        let attrs: Vec<Attribute> = all.iter().filter(|a| attrs::is_doc(a)).cloned().collect();
        let mut lines: Vec<Result<String, Expr>> = Vec::new();
        for attr in &attrs {
            let Meta::NameValue(nv) = &attr.meta else {
                continue; // `#[doc(hidden)]` and the like: forwarded, no text
            };
            match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => lines.extend(literal_lines(&s.value()).into_iter().map(Ok)),
                other => lines.push(Err(other.clone())),
            }
        }
        // Remove the indentation every text line shares (the space after `///`).
        let indent = lines
            .iter()
            .filter_map(|l| l.as_ref().ok())
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let mut text: Vec<DocPiece> = Vec::new();
        for line in lines {
            match line {
                Ok(line) => {
                    let line = line.get(indent..).unwrap_or("").trim_end().to_owned();
                    match text.last_mut() {
                        Some(DocPiece::Text(prev)) => {
                            prev.push('\n');
                            prev.push_str(&line);
                        }
                        _ => text.push(DocPiece::Text(line)),
                    }
                }
                Err(expr) => text.push(DocPiece::Expr(expr)),
            }
        }
        // Blank lines at either end carry nothing.
        for piece in &mut text {
            if let DocPiece::Text(s) = piece {
                *s = s.trim_matches('\n').to_owned();
            }
        }
        text.retain(|p| !matches!(p, DocPiece::Text(s) if s.is_empty()));
        Docs { attrs, text }
    }
}

/// The lines of one doc literal. A `/** .. */` block whose lines all start with `*` loses
/// that column, as rustdoc shows it.
fn literal_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    let starred = lines.len() > 1
        && lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .all(|l| l.trim_start().starts_with('*'));
    lines
        .into_iter()
        .map(|line| match starred {
            true => line.trim_start().trim_start_matches('*').to_owned(),
            false => line.to_owned(),
        })
        .collect()
}

/// Lowers the trait. Mistakes go to `errors`; what is left is still a contract.
pub(crate) fn lower(args: ContractArgs, item: &ItemTrait, errors: &mut Errors) -> Contract {
    validate::trait_shape(item, errors);
    let namespace = match &args.namespace {
        Some(lit) => validate::namespace(lit, errors).unwrap_or_else(|| "/".to_owned()),
        None => "/".to_owned(),
    };
    let mut events = Vec::new();
    for trait_item in &item.items {
        let syn::TraitItem::Fn(method) = trait_item else {
            errors.push(syn::Error::new_spanned(
                trait_item,
                "only methods go in a `#[socketio_events]` trait: each declares one event, \
                 marked `#[emit]` (the client sends it) or `#[on]` (the server sends it)",
            ));
            continue;
        };
        if let Some(event) = lower_event(method, &args, errors) {
            events.push(event);
        }
    }
    Contract {
        ident: item.ident.clone(),
        vis: item.vis.clone(),
        docs: Docs::from_attrs(&item.attrs),
        namespace,
        krate: args
            .krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::ferrio)),
        events,
    }
}

/// Lowers one method, or reports why it cannot declare an event.
fn lower_event(
    method: &syn::TraitItemFn,
    args: &ContractArgs,
    errors: &mut Errors,
) -> Option<Event> {
    let before = errors.count();
    let attr = event_attr(method, errors);
    validate::method_shape(method, errors);
    let ident = method.sig.ident.clone();
    let name = ident.unraw().to_string();

    let mut event_args = Vec::new();
    for input in &method.sig.inputs {
        let FnArg::Typed(pat_type) = input else {
            continue; // the receiver, reported by method_shape
        };
        let Some(arg_ident) = argument_ident(&pat_type.pat, errors) else {
            continue;
        };
        validate::payload_type(&pat_type.ty, errors);
        event_args.push(Arg {
            name: arg_ident.unraw().to_string(),
            ident: arg_ident,
            ty: (*pat_type.ty).clone(),
        });
    }
    let ack = match &method.sig.output {
        ReturnType::Default => Ack::None,
        ReturnType::Type(_, ty) => {
            validate::payload_type(ty, errors);
            Ack::from_type(ty)
        }
    };
    let attr = attr?;
    if errors.count() > before {
        return None;
    }
    let (wire_name, wire_span) = wire_name(&attr, &ident, &name, args);
    Some(Event {
        ident,
        name,
        direction: attr.direction,
        wire_name,
        wire_span,
        explicit_name: attr.name.is_some(),
        docs: Docs::from_attrs(&method.attrs),
        args: event_args,
        ack,
    })
}

/// The method's one `#[emit]` / `#[on]`; reports a missing or second one, and attributes
/// the macro does not know.
fn event_attr(method: &syn::TraitItemFn, errors: &mut Errors) -> Option<EventAttr> {
    let mut found: Option<EventAttr> = None;
    let mut ok = true;
    for attr in &method.attrs {
        if attrs::is_doc(attr) {
            continue;
        }
        let Some(direction) = attrs::event_direction(attr) else {
            errors.push(syn::Error::new_spanned(
                attr,
                "unsupported attribute on an event method: only `#[emit]`, `#[on]` and doc comments go here",
            ));
            ok = false;
            continue;
        };
        match (attrs::event_attr(attr, direction), &found) {
            (Err(error), _) => {
                errors.push(error);
                ok = false;
            }
            (Ok(second), Some(first)) => {
                let message = if first.direction == second.direction {
                    format!("`#[{}]` is given twice", second.direction.attr())
                } else {
                    "an event is sent by one side: keep `#[emit]` (the client sends it) or `#[on]` \
                     (the server sends it), not both"
                        .to_owned()
                };
                errors.push(syn::Error::new(second.span, message));
                ok = false;
            }
            (Ok(attr), None) => found = Some(attr),
        }
    }
    if found.is_none() && ok {
        errors.push(syn::Error::new(
            method.sig.ident.span(),
            format_args!(
                "mark `{}` with `#[emit]` (the client sends this event) or `#[on]` (the server sends it)",
                method.sig.ident.unraw()
            ),
        ));
    }
    found.filter(|_| ok)
}

/// The name of a parameter; anything but a plain name is reported.
fn argument_ident(pat: &Pat, errors: &mut Errors) -> Option<Ident> {
    match pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none() => {
            Some(p.ident.clone())
        }
        other => {
            errors.push(syn::Error::new_spanned(
                other,
                "name this argument with a plain identifier (`room: String`): the name is the \
                 argument's name in the contract, and patterns, `_`, `mut` or `ref` mean nothing here",
            ));
            None
        }
    }
}

/// Whether a return type declares an empty ack: its last path segment is `Acked`
/// (`Acked`, `ferrio::Acked`). The expansion checks that it is ferrio's.
fn is_acked(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Acked" && s.arguments.is_none()),
        Type::Group(g) => is_acked(&g.elem),
        Type::Paren(p) => is_acked(&p.elem),
        _ => false,
    }
}

/// The wire name: `name = "..."`, else the method's name through `rename_all`.
fn wire_name(attr: &EventAttr, ident: &Ident, name: &str, args: &ContractArgs) -> (String, Span) {
    match &attr.name {
        Some(lit) => (lit.value(), lit.span()),
        None => {
            let wire = match args.rename_all {
                Some(rule) => rule.apply(name),
                None => name.to_owned(),
            };
            (wire, ident.span())
        }
    }
}
