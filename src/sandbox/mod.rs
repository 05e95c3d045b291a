//! Sandbox (stub).
