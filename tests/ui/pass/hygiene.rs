//! No prelude, missing docs denied, no schemars or serde_json named by the user's code, and
//! user names that the expansion must not capture.
#![no_implicit_prelude]
#![deny(missing_docs, warnings)]

/// The payload types. schemars' derive needs the prelude (ferrio's expansion does not),
/// so this module imports it; it uses the schemars that ferrio re-exports.
pub mod types {
    use ::std::prelude::rust_2021::*;

    /// A payload type named like the listener generics.
    #[derive(::serde::Serialize, ::serde::Deserialize, ::ferrio::schema::schemars::JsonSchema)]
    #[schemars(crate = "::ferrio::schema::schemars")]
    pub struct F {
        /// A field.
        pub value: String,
    }

    /// Another one.
    #[derive(::serde::Serialize, ::serde::Deserialize, ::ferrio::schema::schemars::JsonSchema)]
    #[schemars(crate = "::ferrio::schema::schemars")]
    pub struct Fut(pub u32);
}
use types::{Fut, F};

/// Types named like the prelude's.
pub mod shadows {
    /// Not the prelude's `Option`.
    pub struct Option;
    /// Not the prelude's `Result`.
    pub struct Result;
    /// Not the prelude's `String`.
    pub struct String;
}
#[allow(unused_imports)]
use shadows::{Option, Result, String};

/// Hygiene.
#[::ferrio::socketio_events(namespace = "/hygiene")]
pub trait Hygienic {
    /// Parameters named like the expansion's locals.
    #[emit]
    fn locals(listener: F, reply: Fut, arg0: u32, generator: bool, emitter: u8) -> F;
    /// An `#[on]` event with the same names.
    #[on]
    fn back(listener: F, arg0: Fut) -> Fut;
    /// A private helper's name as an event.
    #[emit]
    fn emitter(socket: u32);
}

/// A private contract in a private module: no dead code warnings.
mod private {
    #[::ferrio::socketio_events]
    trait Unused {
        #[emit]
        fn nobody_calls_this(x: u32);
    }

    #[::ferrio::socketio_events]
    pub(crate) trait Used {
        #[on]
        fn news(x: u32);
    }

    pub(crate) fn use_it(socket: ::ferrio::Socket) {
        let _ = UsedSocket::from_socket(socket).on_news(|x| async move {
            let _ = x;
        });
    }
}

fn main() {
    let mut generator: ::ferrio::schema::schemars::SchemaGenerator =
        ::std::default::Default::default();
    let contract = <Hygienic as ::ferrio::EventContract>::describe(&mut generator);
    ::std::assert_eq!(contract.events.len(), 3);
    ::std::assert_eq!(contract.events[0].args[3].name, "generator");
    let _ = private::use_it;
}
