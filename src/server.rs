//! Server (stub).
