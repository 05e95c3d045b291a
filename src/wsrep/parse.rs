//! Pure parsing of Galera data (stub).
