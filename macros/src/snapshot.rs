//! Expansion snapshots: the generated code of representative traits, formatted with
//! prettyplease, compared with the files committed in `macros/tests/snapshots/`.
//!
//! After an intended change of the expansion, re-bless them and review the diff:
//!
//! ```sh
//! FERRIO_BLESS=1 cargo test -p ferrio-macros
//! ```

use std::path::PathBuf;

use proc_macro2::TokenStream;
use quote::quote;

/// Expands, formats, and compares with (or, under `FERRIO_BLESS`, writes) `snapshots/<name>`.
fn check(name: &str, attr: TokenStream, item: TokenStream) {
    let expanded = super::expand(attr, item);
    let file: syn::File = syn::parse2(expanded).expect("the expansion parses as a file");
    let actual = format!(
        "// Expansion of the `{name}` snapshot trait (macros/src/snapshot.rs); regenerate with\n\
         // `FERRIO_BLESS=1 cargo test -p ferrio-macros`.\n\n{}",
        prettyplease::unparse(&file)
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("snapshots")
        .join(format!("{name}.expanded.rs"));
    if std::env::var_os("FERRIO_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create snapshots/");
        std::fs::write(&path, &actual).expect("write the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let first_difference = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "the expansion of `{name}` differs from {} from line {} on; if the change is \
             intended, run `FERRIO_BLESS=1 cargo test -p ferrio-macros` and review the diff.\n\
             --- actual ---\n{actual}",
            path.display(),
            first_difference + 1,
        );
    }
}

#[test]
fn chat() {
    check(
        "chat",
        quote!(namespace = "/chat"),
        quote! {
            /// The chat namespace.
            pub trait ChatEvents {
                /// Say hello; fire and forget.
                #[emit]
                fn hello(name: String);
                /// Join a room; the server acks with the room's info.
                #[emit]
                fn join(room: String) -> RoomInfo;
                /// The wire name differs from the Rust name.
                #[emit(name = "chat message")]
                fn say(room: String, text: String) -> ferrio::Acked;
                /// A message for this client.
                #[on]
                fn message(msg: ChatMessage);
                /// The server asks; the handler's return value is sent back as the ack.
                #[on]
                fn poll(question: String, choices: Vec<String>) -> u8;
                /// No arguments, an empty ack.
                #[on]
                fn ping() -> ferrio::Acked;
            }
        },
    );
}

#[test]
fn renamed_and_private() {
    check(
        "renamed",
        quote!(rename_all = "camelCase"),
        quote! {
            trait Presence {
                #[emit]
                fn set_status(status: Status, since: u64);
                #[on]
                fn user_joined(r#type: String);
            }
        },
    );
}

#[test]
fn errors_keep_the_items() {
    let expanded = super::expand(
        quote!(namespace = "/chat"),
        quote! {
            pub trait ChatEvents {
                #[emit]
                fn hello(name: String);
                fn unmarked(x: u32);
                #[on]
                fn connect();
            }
        },
    )
    .to_string();
    assert_eq!(expanded.matches("compile_error").count(), 2, "{expanded}");
    assert!(expanded.contains("pub struct ChatEvents ;"), "{expanded}");
    assert!(
        expanded.contains("pub struct ChatEventsSocket"),
        "{expanded}"
    );
    assert!(expanded.contains("fn emit_hello"), "{expanded}");
    assert!(!expanded.contains("fn on_unmarked"), "{expanded}");
}
