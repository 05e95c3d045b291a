//! MySQL client (stub).
