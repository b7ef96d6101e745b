//! Examples live in examples/*.rs.

// kraftsoci-meta's README example, compiled and run with the doctests. It belongs in
// kraftsoci-meta's own lib.rs (as the other library crates do it); it lives here until that
// crate's sources can be changed (issue 19, a later round).
#[cfg(doctest)]
#[doc = include_str!("../../kraftsoci-meta/README.md")]
struct MetaReadmeDoctests;
