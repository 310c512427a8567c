//! Unit tests of the DR plan mapping.
