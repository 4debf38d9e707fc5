//! ferrio-schema: the event contract model and its exporters.
