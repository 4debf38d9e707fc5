//! Compile-time behaviour of `#[socketio_events]` (trybuild): `tests/ui/pass` must compile
//! and run, `tests/ui/fail` must fail with exactly the error in its `.stderr`.
//!
//! After an intended change of a message, regenerate the `.stderr` files and review them:
//!
//! ```sh
//! TRYBUILD=overwrite cargo test --test typed_ui
//! ```

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
