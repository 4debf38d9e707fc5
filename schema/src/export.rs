//! The exporter: a list of contracts described with one shared schema generator, the options
//! that name the service, and the model the three formats are rendered from (namespaces and
//! shared types in a fixed order, with the identifiers every format uses for them).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::Value;

use crate::contract::{Contract, EventContract, EventDef};
use crate::drift::{check_up_to_date, Drift};
use crate::walk::{decode_ref_name, refs_in, sorted};

/// File name of the JSON Schema bundle in an export directory.
pub const JSON_SCHEMA_FILE: &str = "events.schema.json";
/// File name of the AsyncAPI document in an export directory.
pub const ASYNCAPI_FILE: &str = "asyncapi.json";
/// File name of the TypeScript declarations in an export directory.
pub const TYPESCRIPT_FILE: &str = "events.d.ts";

/// What names and locates the exported service: the AsyncAPI `id`, `info` and `servers`, and
/// the JSON Schema bundle's `$id`, `title` and `description`.
///
/// Fill `description`, `contact`, `license` and at least one server and the AsyncAPI
/// validator has nothing to warn about.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportOptions {
    /// The service's title (`info.title`, the bundle's `title`).
    pub title: String,
    /// The contract's version (`info.version`), e.g. the crate's version.
    pub version: String,
    /// A longer description; when `None`, one is written from the contracts' docs.
    pub description: Option<String>,
    /// A URI naming the document (`id`, `$id`); when `None`, `urn:` + a slug of the title.
    pub id: Option<String>,
    /// The servers speaking this contract (AsyncAPI `servers`).
    pub servers: Vec<ServerInfo>,
    /// Who to contact about the service (AsyncAPI `info.contact`).
    pub contact: Option<Contact>,
    /// The contract's license (AsyncAPI `info.license`).
    pub license: Option<License>,
}

impl ExportOptions {
    /// Options with a title and a version, everything else unset.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> ExportOptions {
        ExportOptions {
            title: title.into(),
            version: version.into(),
            description: None,
            id: None,
            servers: Vec::new(),
            contact: None,
            license: None,
        }
    }

    /// Sets [`ExportOptions::description`].
    pub fn description(mut self, description: impl Into<String>) -> ExportOptions {
        self.description = Some(description.into());
        self
    }

    /// Sets [`ExportOptions::id`].
    pub fn id(mut self, id: impl Into<String>) -> ExportOptions {
        self.id = Some(id.into());
        self
    }

    /// Adds a server.
    pub fn server(mut self, server: ServerInfo) -> ExportOptions {
        self.servers.push(server);
        self
    }

    /// Sets [`ExportOptions::contact`].
    pub fn contact(mut self, contact: Contact) -> ExportOptions {
        self.contact = Some(contact);
        self
    }

    /// Sets [`ExportOptions::license`].
    pub fn license(mut self, license: License) -> ExportOptions {
        self.license = Some(license);
        self
    }

    /// The document id: [`ExportOptions::id`], or `urn:` followed by the title in lower case
    /// with every run of other characters than letters and digits turned into one `-`.
    pub fn document_id(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        let mut slug = String::new();
        for c in self.title.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        format!(
            "urn:{}",
            if slug.is_empty() {
                "socketio-contract"
            } else {
                slug
            }
        )
    }
}

impl Default for ExportOptions {
    fn default() -> ExportOptions {
        ExportOptions::new("Socket.IO event contract", "0.0.0")
    }
}

/// A server speaking the contract (an AsyncAPI Server Object).
#[derive(Clone, Debug, PartialEq)]
pub struct ServerInfo {
    /// The key under `servers` (`"local"`, `"production"`); letters, digits, `_`, `-`, `.`.
    pub name: String,
    /// Host and optional port (`"chat.example.com"`, `"localhost:3000"`).
    pub host: String,
    /// `ws`, `wss`, `http` or `https`.
    pub protocol: String,
    /// The Socket.IO path on the host; socket.io's default is `/socket.io/`.
    pub pathname: String,
    /// What the server is for.
    pub description: Option<String>,
}

impl ServerInfo {
    /// A server from its name, host and protocol, on the default path `/socket.io/`.
    pub fn new(
        name: impl Into<String>,
        host: impl Into<String>,
        protocol: impl Into<String>,
    ) -> ServerInfo {
        ServerInfo {
            name: name.into(),
            host: host.into(),
            protocol: protocol.into(),
            pathname: "/socket.io/".into(),
            description: None,
        }
    }

    /// A server from a URL such as `wss://chat.example.com/socket.io/`; a URL without a path
    /// gets `/socket.io/`. `None` when the URL has no `scheme://host`.
    pub fn from_url(name: impl Into<String>, url: &str) -> Option<ServerInfo> {
        let (protocol, rest) = url.split_once("://")?;
        let (host, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, ""),
        };
        if protocol.is_empty() || host.is_empty() {
            return None;
        }
        let mut server = ServerInfo::new(name, host, protocol);
        if !path.is_empty() && path != "/" {
            server.pathname = path.to_owned();
        }
        Some(server)
    }

    /// Sets [`ServerInfo::description`].
    pub fn description(mut self, description: impl Into<String>) -> ServerInfo {
        self.description = Some(description.into());
        self
    }
}

/// Who to contact about the service (an AsyncAPI Contact Object).
#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    /// A person or team.
    pub name: String,
    /// A web page about the service.
    pub url: String,
    /// An email address.
    pub email: String,
}

/// The contract's license (an AsyncAPI License Object).
#[derive(Clone, Debug, PartialEq)]
pub struct License {
    /// The license's name or SPDX expression (`"MIT OR Apache-2.0"`).
    pub name: String,
    /// Where to read it.
    pub url: Option<String>,
}

/// One exported file: its name in an export directory and its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedFile {
    /// [`JSON_SCHEMA_FILE`], [`ASYNCAPI_FILE`] or [`TYPESCRIPT_FILE`].
    pub name: &'static str,
    /// The file's text (UTF-8, `\n` line ends, a final newline).
    pub content: String,
}

/// Contracts described with one shared schema generator, ready to export.
///
/// Types used by several events or contracts are described once; every format lists the
/// namespaces in the order their first contract was added, and each namespace's events in
/// declaration order. Contracts that name the same namespace are exported as one namespace.
///
/// ```
/// # use ferrio_schema::{Contract, EventContract, Exporter, ExportOptions};
/// # struct ChatEvents;
/// # impl EventContract for ChatEvents {
/// #     fn describe(_: &mut schemars::SchemaGenerator) -> Contract {
/// #         Contract { name: "ChatEvents".into(), namespace: "/chat".into(), docs: String::new(), events: vec![] }
/// #     }
/// # }
/// let exporter = Exporter::new().contract::<ChatEvents>();
/// let options = ExportOptions::new("Chat service", "1.0.0");
/// for file in exporter.files(&options) {
///     println!("{}: {} bytes", file.name, file.content.len());
/// }
/// ```
#[derive(Debug)]
pub struct Exporter {
    generator: SchemaGenerator,
    contracts: Vec<Contract>,
}

impl Default for Exporter {
    fn default() -> Exporter {
        Exporter::new()
    }
}

impl Exporter {
    /// An exporter without contracts, whose generator writes JSON Schema draft 2020-12 and
    /// describes how payloads deserialize (schemars' default).
    pub fn new() -> Exporter {
        Exporter::from_parts(SchemaSettings::draft2020_12().into_generator(), Vec::new())
    }

    /// An exporter from contracts already described with `generator`: every `$ref` in their
    /// schemas must point into `generator`'s definitions. The generator's settings must write
    /// draft 2020-12 (as [`SchemaSettings::draft2020_12`] does).
    pub fn from_parts(generator: SchemaGenerator, contracts: Vec<Contract>) -> Exporter {
        Exporter {
            generator,
            contracts,
        }
    }

    /// Adds the contract `C`, builder style.
    #[must_use]
    pub fn contract<C: EventContract>(mut self) -> Exporter {
        self.add::<C>();
        self
    }

    /// Adds the contract `C`.
    pub fn add<C: EventContract>(&mut self) -> &mut Exporter {
        let contract = C::describe(&mut self.generator);
        self.contracts.push(contract);
        self
    }

    /// The contracts, in the order they were added.
    pub fn contracts(&self) -> &[Contract] {
        &self.contracts
    }

    /// The shared generator, whose definitions hold every named payload type.
    pub fn generator(&self) -> &SchemaGenerator {
        &self.generator
    }

    /// The JSON Schema (draft 2020-12) bundle; see [`crate::json_schema`].
    pub fn json_schema(&self, options: &ExportOptions) -> String {
        crate::json_schema::render(&self.model(), options)
    }

    /// The AsyncAPI 3.0 document; see [`crate::asyncapi`].
    pub fn asyncapi(&self, options: &ExportOptions) -> String {
        crate::asyncapi::render(&self.model(), options)
    }

    /// The TypeScript declarations; see [`crate::typescript`].
    pub fn typescript(&self, options: &ExportOptions) -> String {
        crate::typescript::render(&self.model(), options)
    }

    /// The three exports, named as they are written to an export directory.
    pub fn files(&self, options: &ExportOptions) -> Vec<ExportedFile> {
        let model = self.model();
        vec![
            ExportedFile {
                name: JSON_SCHEMA_FILE,
                content: crate::json_schema::render(&model, options),
            },
            ExportedFile {
                name: ASYNCAPI_FILE,
                content: crate::asyncapi::render(&model, options),
            },
            ExportedFile {
                name: TYPESCRIPT_FILE,
                content: crate::typescript::render(&model, options),
            },
        ]
    }

    /// Checks that `dir` holds the three exports exactly as they are now, for a CI test that
    /// fails when a contract changed and nobody re-exported it. The error names the first
    /// stale file and the command that refreshes the directory.
    pub fn check_dir(&self, dir: impl AsRef<Path>, options: &ExportOptions) -> Result<(), Drift> {
        for file in self.files(options) {
            check_up_to_date(dir.as_ref().join(file.name), &file.content)?;
        }
        Ok(())
    }

    pub(crate) fn model(&self) -> Model<'_> {
        Model::new(&self.contracts, &self.generator)
    }
}

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
    fn new(contracts: &'a [Contract], generator: &SchemaGenerator) -> Model<'a> {
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
                    refs_in(ack.as_value(), &mut first_uses);
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

    #[test]
    fn ids_and_servers_come_from_options() {
        assert_eq!(
            ExportOptions::new("Chat  service!", "1").document_id(),
            "urn:chat-service"
        );
        let server = ServerInfo::from_url("local", "ws://localhost:3000")
            .unwrap_or_else(|| ServerInfo::new("", "", ""));
        assert_eq!(
            (server.host.as_str(), server.pathname.as_str()),
            ("localhost:3000", "/socket.io/")
        );
        assert!(ServerInfo::from_url("x", "no-scheme").is_none());
    }
}
