//! The exporters: a list of contracts described with one shared schema generator
//! ([`Exporter`]), the options that name the service ([`ExportOptions`]), the document model
//! the formats are rendered from (`model`), and one module per format: [`json_schema`],
//! [`asyncapi`], [`typescript`].

pub mod asyncapi;
pub mod json_schema;
mod model;
mod options;
pub mod typescript;

use std::path::Path;

use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;

pub(crate) use self::model::{
    lower_first, Model, Namespace, UniqueNames, INTER_SERVER_EVENTS, SOCKET_DATA,
};
pub use self::options::{Contact, ExportOptions, License, ServerInfo};
use crate::contract::{Contract, EventContract};
use crate::drift::{check_up_to_date, Drift, DriftReason};

/// File name of the JSON Schema bundle in an export directory.
pub const JSON_SCHEMA_FILE: &str = "events.schema.json";
/// File name of the AsyncAPI document in an export directory.
pub const ASYNCAPI_FILE: &str = "asyncapi.json";
/// File name of the TypeScript declarations in an export directory.
pub const TYPESCRIPT_FILE: &str = "events.d.ts";

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
        json_schema::render(&self.model(), options)
    }

    /// The AsyncAPI 3.0 document; see [`crate::asyncapi`].
    pub fn asyncapi(&self, options: &ExportOptions) -> String {
        asyncapi::render(&self.model(), options)
    }

    /// The TypeScript declarations; see [`crate::typescript`].
    pub fn typescript(&self, options: &ExportOptions) -> String {
        typescript::render(&self.model(), options)
    }

    /// The three exports, named as they are written to an export directory.
    pub fn files(&self, options: &ExportOptions) -> Vec<ExportedFile> {
        let model = self.model();
        vec![
            ExportedFile {
                name: JSON_SCHEMA_FILE,
                content: json_schema::render(&model, options),
            },
            ExportedFile {
                name: ASYNCAPI_FILE,
                content: asyncapi::render(&model, options),
            },
            ExportedFile {
                name: TYPESCRIPT_FILE,
                content: typescript::render(&model, options),
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

    /// Writes the three exports into `dir` (created if needed): what a crate commits so
    /// that the team on the other side of the wire can use its contract.
    pub fn write_dir(&self, dir: impl AsRef<Path>, options: &ExportOptions) -> std::io::Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        for file in self.files(options) {
            std::fs::write(dir.join(file.name), file.content)?;
        }
        Ok(())
    }

    /// The export check of a crate's own test: with [`BLESS_VAR`](crate::BLESS_VAR) set in
    /// the environment it (re)writes `dir`; otherwise it checks `dir` like
    /// [`check_dir`](Self::check_dir), and a stale file fails with a message that tells to
    /// rerun the tests with that variable. `dir` is best made from `CARGO_MANIFEST_DIR`.
    ///
    /// ```no_run
    /// # #[derive(Default)] struct ChatEvents;
    /// # impl ferrio_schema::EventContract for ChatEvents {
    /// #     fn describe(_: &mut schemars::SchemaGenerator) -> ferrio_schema::Contract { unimplemented!() }
    /// # }
    /// // tests/contract.rs of your crate: `FERRIO_BLESS=1 cargo test --test contract`
    /// // refreshes the committed export.
    /// #[test]
    /// fn the_committed_contract_is_current() {
    ///     let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/contract");
    ///     ferrio_schema::Exporter::new()
    ///         .contract::<ChatEvents>()
    ///         .verify_dir(dir, &ferrio_schema::ExportOptions::default())
    ///         .unwrap_or_else(|drift| panic!("{drift}"));
    /// }
    /// ```
    pub fn verify_dir(&self, dir: impl AsRef<Path>, options: &ExportOptions) -> Result<(), Drift> {
        let dir = dir.as_ref();
        if std::env::var_os(crate::BLESS_VAR).is_some_and(|v| !v.is_empty()) {
            return self.write_dir(dir, options).map_err(|error| Drift {
                path: dir.to_owned(),
                reason: DriftReason::Unreadable(error.to_string()),
                refresh: None,
            });
        }
        self.check_dir(dir, options).map_err(|drift| Drift {
            refresh: Some(format!(
                "{}=1 cargo test (the test that checks {})",
                crate::BLESS_VAR,
                dir.display()
            )),
            ..drift
        })
    }

    pub(crate) fn model(&self) -> Model<'_> {
        Model::new(&self.contracts, &self.generator)
    }
}
