//! ferrio-macros: placeholder until the macro issue lands.
