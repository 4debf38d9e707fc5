//! Doc comments reach the contract (and, checked by `deny(missing_docs)`, every generated
//! public item has docs even when the trait has none).
#![deny(missing_docs)]

use ferrio::EventContract;

/// First line.
///
///     indented code
/// Last line.
#[ferrio::socketio_events(namespace = "/docs")]
pub trait Documented {
    /// One line.
    #[emit]
    fn one(x: u32);
    /**
     * A block comment.
     */
    #[on]
    fn block(x: u32) -> u32;
    #[doc = "Attribute form."]
    #[doc = concat!("From ", "a macro.")]
    #[emit]
    fn computed();
    #[emit]
    fn undocumented();
}

// No docs at all: the generated items still have their own.
#[ferrio::socketio_events]
pub trait Bare {
    #[emit]
    fn a(x: String) -> String;
    #[on]
    fn b(x: String) -> ferrio::Acked;
}

fn main() {
    let contract = Documented::describe(&mut schemars::SchemaGenerator::default());
    assert_eq!(contract.docs, "First line.\n\n    indented code\nLast line.");
    let docs: Vec<&str> = contract.events.iter().map(|e| e.docs.as_str()).collect();
    assert_eq!(docs, ["One line.", "A block comment.", "Attribute form.\nFrom a macro.", ""]);
    let bare = Bare::describe(&mut schemars::SchemaGenerator::default());
    assert_eq!(bare.docs, "");
}
