//! The document model every format is rendered from: the namespaces (contracts merged by
//! namespace, events in declaration order) and the shared types (in order of first use), with
//! the identifiers every format uses for them.

use std::collections::{BTreeSet, HashMap};

use schemars::SchemaGenerator;
use serde_json::Value;

use super::ExportOptions;
use crate::contract::{Contract, EventDef};
use crate::walk::{decode_ref_name, refs_in, sorted};

/// A shared (named) payload type.
#[derive(Debug)]
pub(crate) struct Def {
    /// The identifier every format uses for it: a `$defs` key, a `components.schemas` key and
    /// a TypeScript type name.
    pub(crate) ident: String,
    /// Its draft 2020-12 schema, with `$ref`s still pointing into the generator's definitions.
    pub(crate) schema: Value,
}

/// The events of one namespace (of every contract naming it).
#[derive(Debug)]
pub(crate) struct Namespace<'a> {
    /// The namespace (`"/chat"`).
    pub(crate) path: &'a str,
    /// An identifier for it, in PascalCase (`"Chat"`; `"Main"` for `/`).
    pub(crate) ident: String,
    /// The contracts naming it, in the order they were added.
    pub(crate) contracts: Vec<&'a Contract>,
    /// Their events, in declaration order.
    pub(crate) events: Vec<&'a EventDef>,
    /// The TypeScript name of its client-to-server events map.
    pub(crate) client_to_server: String,
    /// The TypeScript name of its server-to-client events map.
    pub(crate) server_to_client: String,
}

impl Namespace<'_> {
    /// The contracts' names, joined (`"ChatEvents"`).
    pub(crate) fn title(&self) -> String {
        let names: Vec<&str> = self.contracts.iter().map(|c| c.name.as_str()).collect();
        names.join(" + ")
    }

    /// The contracts' docs, joined by blank lines.
    pub(crate) fn docs(&self) -> String {
        let docs: Vec<&str> = self
            .contracts
            .iter()
            .map(|c| c.docs.trim())
            .filter(|d| !d.is_empty())
            .collect();
        docs.join("\n\n")
    }
}

/// TypeScript name of the (shared) inter-server events map.
pub(crate) const INTER_SERVER_EVENTS: &str = "InterServerEvents";
/// TypeScript name of the (shared) per-socket data type.
pub(crate) const SOCKET_DATA: &str = "SocketData";

/// What the exporters render: namespaces and shared types, ordered and named.
#[derive(Debug)]
pub(crate) struct Model<'a> {
    pub(crate) namespaces: Vec<Namespace<'a>>,
    /// Shared types in order of first use (walking the events in order).
    pub(crate) defs: Vec<Def>,
    /// Generator definition name -> index in `defs`.
    by_name: HashMap<String, usize>,
    /// The generator's `$ref` prefix (`"#/$defs/"`).
    ref_prefix: String,
}

impl<'a> Model<'a> {
    pub(crate) fn new(contracts: &'a [Contract], generator: &SchemaGenerator) -> Model<'a> {
        let mut names = UniqueNames::reserved();
        let mut namespaces: Vec<Namespace<'a>> = Vec::new();
        for contract in contracts {
            match namespaces.iter_mut().find(|n| n.path == contract.namespace) {
                Some(namespace) => {
                    namespace.contracts.push(contract);
                    namespace.events.extend(&contract.events);
                }
                None => namespaces.push(Namespace {
                    path: &contract.namespace,
                    ident: String::new(),
                    contracts: vec![contract],
                    events: contract.events.iter().collect(),
                    client_to_server: String::new(),
                    server_to_client: String::new(),
                }),
            }
        }
        let mut namespace_idents = UniqueNames::default();
        let several = namespaces.len() > 1;
        for namespace in &mut namespaces {
            namespace.ident = namespace_idents.claim(&pascal_case(namespace.path));
            let prefix = if several {
                namespace.ident.as_str()
            } else {
                ""
            };
            namespace.client_to_server = names.claim(&format!("{prefix}ClientToServerEvents"));
            namespace.server_to_client = names.claim(&format!("{prefix}ServerToClientEvents"));
        }
        names.claim(INTER_SERVER_EVENTS);
        names.claim(SOCKET_DATA);

        let definitions = generator.definitions();
        let path = generator.settings().definitions_path.as_ref();
        let path = path.strip_prefix('#').unwrap_or(path).trim_end_matches('/');
        let mut model = Model {
            namespaces,
            defs: Vec::new(),
            by_name: HashMap::new(),
            ref_prefix: format!("#{path}/"),
        };

        // Shared types in order of first use (depth first, walking the events in order), then
        // any the events never reach, by name.
        let mut first_uses = Vec::new();
        for namespace in &model.namespaces {
            for event in &namespace.events {
                for arg in &event.args {
                    refs_in(arg.schema.as_value(), &mut first_uses);
                }
                for ack in event.ack.args().unwrap_or_default() {
                    refs_in(ack.schema.as_value(), &mut first_uses);
                }
            }
        }
        let mut roots: Vec<String> = first_uses
            .iter()
            .filter_map(|r| model.def_name(r))
            .collect();
        roots.extend(
            sorted(definitions)
                .into_iter()
                .map(|(name, _)| name.to_owned()),
        );
        for root in roots {
            let mut stack = vec![root];
            while let Some(name) = stack.pop() {
                let Some(schema) = definitions.get(&name) else {
                    continue;
                };
                if model.by_name.contains_key(&name) {
                    continue;
                }
                model.by_name.insert(name.clone(), model.defs.len());
                model.defs.push(Def {
                    ident: names.claim(&identifier(&name)),
                    schema: schema.clone(),
                });
                let mut found = Vec::new();
                refs_in(schema, &mut found);
                stack.extend(found.iter().rev().filter_map(|r| model.def_name(r)));
            }
        }
        model
    }

    /// [`ExportOptions::description`], or one listing the namespaces.
    pub(crate) fn description(&self, options: &ExportOptions) -> String {
        if let Some(description) = &options.description {
            return description.clone();
        }
        let list: Vec<String> = self
            .namespaces
            .iter()
            .map(|n| format!("`{}` ({})", n.path, n.title()))
            .collect();
        let noun = if list.len() == 1 {
            "namespace"
        } else {
            "namespaces"
        };
        format!("The Socket.IO events of {noun} {}.", list.join(", "))
    }

    /// The generator definition name a `$ref` points to, if it points into the definitions.
    fn def_name(&self, reference: &str) -> Option<String> {
        reference
            .strip_prefix(&self.ref_prefix)
            .map(decode_ref_name)
    }

    /// The shared type a `$ref` points to.
    pub(crate) fn resolve(&self, reference: &str) -> Option<&Def> {
        let name = self.def_name(reference)?;
        self.by_name.get(&name).map(|&index| &self.defs[index])
    }

    /// A `$ref` rewriter for [`crate::walk::canonical_schema`]: references to shared types
    /// become `prefix` + the type's identifier.
    pub(crate) fn ref_rewriter<'m>(
        &'m self,
        prefix: &'m str,
    ) -> impl Fn(&str) -> Option<String> + 'm {
        move |reference| {
            self.resolve(reference)
                .map(|def| format!("{prefix}{}", def.ident))
        }
    }
}

/// Names that must stay unique within one export, handing out `Name2`, `Name3`... on clashes.
#[derive(Debug, Default)]
pub(crate) struct UniqueNames(BTreeSet<String>);

impl UniqueNames {
    /// A set already holding the words a TypeScript type cannot be named (keywords, primitive
    /// types) and the global types the declarations use.
    fn reserved() -> UniqueNames {
        UniqueNames(TS_RESERVED.iter().map(|word| (*word).to_owned()).collect())
    }

    /// Claims `base`, or the first free `base2`, `base3`...
    pub(crate) fn claim(&mut self, base: &str) -> String {
        let mut name = base.to_owned();
        let mut n = 2;
        while self.0.contains(&name) {
            name = format!("{base}{n}");
            n += 1;
        }
        self.0.insert(name.clone());
        name
    }
}

/// Names a TypeScript declaration cannot take: keywords, primitive types, and the global
/// types the generated declarations refer to.
pub(crate) const TS_RESERVED: &[&str] = &[
    "any",
    "as",
    "async",
    "await",
    "bigint",
    "boolean",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "declare",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "from",
    "function",
    "get",
    "if",
    "implements",
    "import",
    "in",
    "infer",
    "instanceof",
    "interface",
    "is",
    "keyof",
    "let",
    "module",
    "namespace",
    "never",
    "new",
    "null",
    "number",
    "object",
    "of",
    "package",
    "private",
    "protected",
    "public",
    "readonly",
    "require",
    "return",
    "set",
    "static",
    "string",
    "super",
    "switch",
    "symbol",
    "this",
    "throw",
    "true",
    "try",
    "type",
    "typeof",
    "undefined",
    "unique",
    "unknown",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "Array",
    "ArrayBuffer",
    "ArrayBufferView",
    "Record",
    "Partial",
    "Promise",
    "Date",
    "Map",
    "Set",
    "Object",
    "String",
    "Number",
    "Boolean",
    "Symbol",
    "Function",
    "Error",
    "BigInt",
];

/// A definition name as an identifier valid in every format: letters, digits and `_`, not
/// starting with a digit (`Wrapper<T>` style names lose their punctuation).
fn identifier(name: &str) -> String {
    let mut ident: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    ident
}

/// A namespace as a PascalCase identifier: `/chat` -> `Chat`, `/admin-v2` -> `AdminV2`,
/// `/` -> `Main` (socket.io's name for it).
pub(crate) fn pascal_case(namespace: &str) -> String {
    let mut out = String::new();
    for part in namespace.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() {
        return "Main".into();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "Ns");
    }
    out
}

/// `Chat` -> `chat`: a PascalCase identifier in camelCase.
pub(crate) fn lower_first(ident: &str) -> String {
    let mut chars = ident.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_become_identifiers() {
        assert_eq!(pascal_case("/"), "Main");
        assert_eq!(pascal_case("/chat"), "Chat");
        assert_eq!(pascal_case("/admin-v2/x"), "AdminV2X");
        assert_eq!(pascal_case("/1st"), "Ns1st");
    }

    #[test]
    fn definition_names_become_identifiers() {
        assert_eq!(identifier("Wrapper<String>"), "Wrapper_String_");
        assert_eq!(identifier("2d"), "_2d");
    }

    #[test]
    fn clashing_names_get_a_number() {
        let mut names = UniqueNames::reserved();
        assert_eq!(names.claim("Record"), "Record2");
        assert_eq!(names.claim("Room"), "Room");
        assert_eq!(names.claim("Room"), "Room2");
    }
}
