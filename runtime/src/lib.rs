//! ferrio: a Socket.IO v4 client.
