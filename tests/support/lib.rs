//! Test support for the ferrio end-to-end suites.
