//! Formatter (pending).
